"""Public portfolio pages: browse with filters and sort, the card with its figures, and no debtor data on either."""

import re

import pytest

from portfolios import services
from portfolios.models import PortfolioStats
from tests.portfolios.conftest import csv_upload, loan_row, new_draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def listings(member, seller_org, staff, import_tape):
    """Two approved listings of different size and type, and a draft nobody else may see."""
    made = {}
    for title, debt_type, rows in (
        ("Small SME book", "sme", range(100, 106)),
        ("Big card book", "corporate", range(40)),
    ):
        portfolio = new_draft(member, seller_org, title=title, debt_type=debt_type, regions=["Zhejiang"])
        assert import_tape(portfolio, csv_upload([loan_row(n) for n in rows])).status == "succeeded"
        services.portfolio_submit(user=member, portfolio=portfolio)
        made[title] = services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=True)
    made["draft"] = new_draft(member, seller_org, title="Hidden draft")
    return made


def titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/portfolios/\d+/">([^<]+)</a></h2>', html)


def test_browse_lists_approved_portfolios_with_filters_and_sort(client, listings):
    assert titles(client.get("/portfolios/").content.decode()) == ["Big card book", "Small SME book"]
    small_face = PortfolioStats.objects.get(portfolio=listings["Small SME book"]).total_claim
    assert titles(client.get(f"/portfolios/?max_face={small_face}").content.decode()) == ["Small SME book"]
    assert titles(client.get("/portfolios/?debt_type=corporate").content.decode()) == ["Big card book"]
    assert titles(client.get("/portfolios/?sort=face_asc").content.decode()) == ["Small SME book", "Big card book"]
    assert titles(client.get("/portfolios/?q=nothing-like-this").content.decode()) == []
    page = client.get("/portfolios/?min_face=lots").content.decode()
    assert "Enter a number." in page


def test_the_card_shows_the_figures_and_no_debtor(client, listings):
    portfolio = listings["Big card book"]
    stats = PortfolioStats.objects.get(portfolio=portfolio)
    page = client.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert f"{stats.total_claim:,.2f} CNY" in page
    assert 'id="by-legal_status"' in page and "Judgment obtained" in page and 'id="by-region"' in page
    rows = [loan_row(n) for n in range(40)]
    for row in rows:
        for column in ("borrower_name", "national_id", "phone", "address", "borrower_id"):
            assert row[column] not in page
    assert client.get(f"/portfolios/{listings['draft'].pk}/").status_code == 404


def test_charts_load_only_when_setup_installed_the_library(client, listings, tmp_path, settings):
    portfolio = listings["Big card book"]
    settings.STATICFILES_DIRS = []  # as before `make` installed static/vendor
    page = client.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert "chart.umd.min.js" not in page and "js/portfolios/charts.js" not in page
    assert 'id="by-region"' in page and "<table" in page  # the tables are the fallback

    vendored = tmp_path / "vendor" / "chart.js"
    vendored.mkdir(parents=True)
    (vendored / "chart.umd.min.js").write_text("window.Chart = function () {};")
    settings.STATICFILES_DIRS = [tmp_path]
    charted = client.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert '<script src="/static/vendor/chart.js/chart.umd.min.js" defer>' in charted
    assert "/static/js/portfolios/charts.js" in charted and 'data-share="' in charted
    assert "cdn" not in charted.lower()


def test_only_the_sellers_people_see_the_auction_setup_and_the_data_room_log(client, listings, member, make_user):
    portfolio = listings["Big card book"]
    client.force_login(make_user("someone@example.com"))
    page = client.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert f"/portfolios/{portfolio.pk}/data-room/" in page
    assert "Put up for auction" not in page and "/data-room/log/" not in page
    client.force_login(member)
    page = client.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert "Put up for auction" in page and f"/portfolios/{portfolio.pk}/data-room/log/" in page
