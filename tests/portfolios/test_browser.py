"""In headless Chromium: a seller takes a draft through the wizard (the progress bar follows the real worker's
import), staff approve it, and a verified buyer studies the portfolio page and enters its data room."""

import csv
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Page, expect

from portfolios import services
from portfolios.models import Portfolio
from tests.e2e.conftest import _allow_orm_beside_playwright, browser_type_launch_args  # the suite's Chromium set-up
from tests.e2e.test_auction_room_browser import logged_in
from tests.portfolios.conftest import HEADER, csv_upload, kyc_approved, loan_row, new_draft

__all__ = ["_allow_orm_beside_playwright", "browser_type_launch_args"]
pytestmark = pytest.mark.django_db(transaction=True)


def approved_listing(member, seller_org, staff, import_tape, rows: range, **data: Any) -> Portfolio:
    portfolio = new_draft(member, seller_org, **data)
    assert import_tape(portfolio, csv_upload([loan_row(n) for n in rows])).status == "succeeded"
    services.portfolio_submit(user=member, portfolio=portfolio)
    return services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=True)


def card_titles(page: Page) -> list[str]:
    return page.locator("#portfolio-list article h2").all_inner_texts()


def test_browse_filters_sorts_and_opens_a_portfolio(browser, live_server_url, member, seller_org, staff, import_tape):
    approved_listing(
        member, seller_org, staff, import_tape, range(100, 106), title="Small SME book", regions=["Zhejiang"]
    )
    approved_listing(
        member,
        seller_org,
        staff,
        import_tape,
        range(40),
        title="Big corporate book",
        debt_type="corporate",
        regions=["Jiangsu", "Zhejiang"],
    )
    approved_listing(
        member,
        seller_org,
        staff,
        import_tape,
        range(200, 220),
        title="Card receivables",
        regions=["Guangdong"],
        debt_type="consumer_unsecured",
        audience="professional_only",
    )
    new_draft(member, seller_org, title="Unreviewed draft")
    connections.close_all()

    page = browser.new_context().new_page()
    page.goto(live_server_url + "/portfolios/")
    expect(page.locator("#portfolio-list article")).to_have_count(3)  # never the draft
    assert set(card_titles(page)) == {"Small SME book", "Big corporate book", "Card receivables"}

    def apply(**fields: str) -> None:
        page.goto(live_server_url + "/portfolios/")
        for name, value in fields.items():
            field = page.locator(f"#portfolio-filters [name={name}]")
            if field.evaluate("element => element.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        page.get_by_role("button", name="Filter").click()

    apply(debt_type="corporate")
    assert card_titles(page) == ["Big corporate book"]
    expect(page.locator("#portfolio-filters [name=debt_type]")).to_have_value("corporate")  # the form keeps it
    apply(region="Zhejiang", sort="face_asc")
    assert card_titles(page) == ["Small SME book", "Big corporate book"]
    apply(sort="face_desc")
    assert card_titles(page) == ["Card receivables", "Big corporate book", "Small SME book"]
    apply(audience="professional")
    assert card_titles(page) == ["Card receivables"]
    expect(page.locator("#portfolio-list")).to_contain_text("professional buyers only")
    apply(audience="retail", min_face="3000000")  # face values: 2.6, 3.6 and 17.7 million
    assert card_titles(page) == ["Big corporate book"]
    apply(q="receivables")
    assert card_titles(page) == ["Card receivables"]
    apply(q="nothing like this")
    expect(page.locator("#portfolio-list")).to_contain_text("No portfolio matches.")

    apply(debt_type="sme")
    page.get_by_role("link", name="Small SME book").click()
    expect(page.locator("h1")).to_contain_text("Small SME book")
    expect(page.locator("#headline")).to_contain_text("6")


def test_portfolio_page_draws_its_charts_with_the_vendored_library(
    browser, live_server_url, member, seller_org, staff, import_tape, artifacts
):
    if not (Path(settings.BASE_DIR) / "static" / "vendor" / "chart.js" / "chart.umd.min.js").exists():
        pytest.fail("chart.js is not installed in static/vendor/: `make test` installs it")
    portfolio = approved_listing(member, seller_org, staff, import_tape, range(60), title="Zhejiang SME book")
    connections.close_all()

    page = browser.new_context().new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server_url}/portfolios/{portfolio.pk}/")
    sections = page.locator("section.distribution")
    expect(sections.first).to_be_visible()
    count = sections.count()
    assert count >= 4
    expect(page.locator("section.distribution canvas")).to_have_count(count)  # one chart per distribution
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll("section.distribution canvas")).map(canvas => {
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            return {
                chart: window.Chart.getChart(canvas) !== undefined,
                width: canvas.width,
                painted: pixels.some((value, index) => index % 4 === 3 && value > 0),
            };
        })"""
    )
    assert all(chart["chart"] and chart["width"] > 0 and chart["painted"] for chart in drawn), drawn
    scripts = [url for url in requested if url.endswith(".js")]
    assert any(url.startswith(live_server_url + "/static/vendor/chart.js/") for url in scripts), scripts
    assert all(url.startswith(live_server_url) for url in requested), requested  # no CDN, nothing from elsewhere
    page.screenshot(path=str(artifacts / "portfolio-charts.png"), full_page=True)


def test_seller_wizard_then_buyer_data_room(
    browser, live_server_url, member, seller_org, staff, make_user, artifacts, tmp_path, nda
):
    buyer = kyc_approved(make_user("buyer@pearl-bay.example.com"))
    rows = [loan_row(n) for n in range(60)]
    tape = tmp_path / "book.csv"
    header = ["Contract No" if name == "loan_id" else name for name in HEADER]
    with tape.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows([row[name] for name in HEADER] for row in rows)
    connections.close_all()

    seller = logged_in(browser, live_server_url, member.email)
    seller.goto(live_server_url + "/portfolios/mine/")
    seller.get_by_role("link", name="New listing").click()
    seller.fill("#id_title", "Zhejiang SME book")
    seller.select_option("#id_debt_type", "sme")
    seller.fill("#id_cutoff_date", "2026-09-30")
    seller.fill("#id_regions", "Zhejiang, Jiangsu")
    seller.get_by_role("button", name="Save and continue").click()
    expect(seller.locator("#tape-form")).to_be_visible()
    seller.set_input_files("#id_file", str(tape))
    seller.locator("summary").click()
    seller.fill("#id_map_loan_id", "Contract No")
    seller.get_by_role("button", name="Upload and import").click()
    expect(seller.locator("#import-progress")).to_be_visible()
    expect(seller.locator("#import-result")).to_contain_text("60 loans imported", timeout=30_000)  # polled, reloaded
    expect(seller.locator("#import-progress")).to_have_attribute("value", "1.000")
    seller.get_by_role("link", name="Continue to documents").click()
    seller.set_input_files("#id_file", str(Path(__file__).parent / "data" / "sample.pdf"))
    seller.fill("#id_title", "Court judgments")
    seller.select_option("#id_kind", "court_paper")
    seller.get_by_role("button", name="Upload").click()
    expect(seller.locator("#documents")).to_contain_text("Court judgments")
    seller.get_by_role("link", name="Continue to submit").click()
    seller.get_by_role("button", name="Submit for review").click()
    expect(seller.locator("#my-listings")).to_contain_text("Submitted for review")

    portfolio = Portfolio.objects.get(title="Zhejiang SME book")
    services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=True)
    connections.close_all()

    page = logged_in(browser, live_server_url, buyer.email)
    page.goto(f"{live_server_url}/portfolios/{portfolio.pk}/")
    expect(page.locator("#headline")).to_contain_text("60")
    if os.path.exists(Path(settings.BASE_DIR) / "static" / "vendor" / "chart.js" / "chart.umd.min.js"):
        expect(page.locator("#by-legal_status canvas")).to_be_visible()  # drawn by the installed library
    else:
        expect(page.locator("#by-legal_status table")).to_be_visible()
    page.screenshot(path=str(artifacts / "portfolio-page.png"), full_page=True)

    page.get_by_role("link", name="Data room").click()
    expect(page.locator("#nda")).to_contain_text("version 1")
    page.get_by_role("button", name="Accept and enter the data room").click()
    expect(page.locator("#loan-table")).not_to_be_visible()  # the box was not ticked
    page.get_by_label("I have read this NDA").check()
    page.get_by_role("button", name="Accept and enter the data room").click()
    expect(page.locator("#loan-table tbody tr")).to_have_count(50)
    expect(page.locator("#documents")).to_contain_text("Court judgments")
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#loan-table tbody tr")).to_have_count(10)
    text = page.content()
    assert not [row[c] for row in rows for c in ("borrower_name", "national_id", "phone") if row[c] in text]
    page.screenshot(path=str(artifacts / "data-room.png"), full_page=True)
