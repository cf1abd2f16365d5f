"""The seller's wizard: details → loan tape with column mapping → progress → documents → submit, all server-rendered."""

import os
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portfolios import services
from portfolios.models import LoanTapeImport, Portfolio, PortfolioDocument
from portfolios.services import data_room
from tests.portfolios.conftest import HEADER, csv_upload, loan_row, pdf_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(member):
    client = Client()
    client.force_login(member)
    return client


def csrf_form(client, url):
    """GET a form page as a browser does and return its CSRF token (the test client enforces CSRF here)."""
    html = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_a_seller_walks_a_draft_from_details_to_review(member, seller_org, django_capture_on_commit_callbacks):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    token = csrf_form(browser, "/portfolios/new/")
    details = {
        "seller": seller_org.pk,
        "title": "Hangzhou <SME> book",
        "description": "Working-capital loans",
        "debt_type": "sme",
        "currency": "CNY",
        "cutoff_date": "2026-09-30",
        "regions": "Zhejiang, Jiangsu",
        "audience": "open",
        "csrfmiddlewaretoken": token,
    }
    created = browser.post("/portfolios/new/", details)
    portfolio = Portfolio.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/portfolios/{portfolio.pk}/edit/tape/"
    assert sorted(portfolio.regions) == ["Jiangsu", "Zhejiang"] and portfolio.created_by == member
    assert "Hangzhou &lt;SME&gt; book" in browser.get(created["Location"]).content.decode()

    # The seller's own headers for two columns, matched in the mapping step.
    header = [
        "Contract No" if name == "loan_id" else "Outstanding" if name == "principal_balance" else name
        for name in HEADER
    ]
    rows = [loan_row(n) for n in range(12)]
    renamed = [{**row, "Contract No": row["loan_id"], "Outstanding": row["principal_balance"]} for row in rows]
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = browser.post(
            f"/portfolios/{portfolio.pk}/edit/tape/",
            {
                "file": csv_upload(renamed, header=header),
                "map_loan_id": "Contract No",
                "map_principal_balance": "Outstanding",
                "csrfmiddlewaretoken": token,
            },
        )
    job = LoanTapeImport.objects.get()
    assert uploaded["Location"] == f"/portfolios/{portfolio.pk}/edit/imports/{job.pk}/"
    assert job.mapping == {"Contract No": "loan_id", "Outstanding": "principal_balance"}
    progress = browser.get(uploaded["Location"]).content.decode()
    assert 'id="import-progress" max="1" value="1.000"' in progress and "12 loans imported." in progress
    assert "js/portfolios/import-progress" in progress and "http-equiv" not in progress  # finished: no refresh

    added = browser.post(
        f"/portfolios/{portfolio.pk}/edit/documents/",
        {
            "file": pdf_upload("Servicing"),
            "title": "Servicing file",
            "kind": "servicing_file",
            "visibility": "data_room",
            "csrfmiddlewaretoken": token,
        },
    )
    assert added.status_code == 302 and PortfolioDocument.objects.get().portfolio == portfolio
    summary = browser.get(f"/portfolios/{portfolio.pk}/edit/submit/").content.decode()
    assert "12" in summary and 'id="submit-form"' in summary and "disabled" not in summary
    assert browser.post(f"/portfolios/{portfolio.pk}/edit/submit/").status_code == 403  # CSRF
    submitted = browser.post(f"/portfolios/{portfolio.pk}/edit/submit/", {"csrfmiddlewaretoken": token})
    assert submitted["Location"] == "/portfolios/mine/"
    portfolio.refresh_from_db()
    assert portfolio.status == "submitted"
    assert "Submitted for review" in browser.get("/portfolios/mine/").content.decode()


def test_a_running_import_refreshes_without_script_and_a_failed_one_lists_its_problems(browser, draft, import_tape):
    job = LoanTapeImport.objects.create(
        portfolio=draft,
        uploaded_by=draft.created_by,
        file_name="big.csv",
        file_format="csv",
        file_size=10,
        status="running",
        progress=0.42,
        rows_read=4200,
    )
    running = browser.get(f"/portfolios/{draft.pk}/edit/imports/{job.pk}/").content.decode()
    assert 'value="0.420"' in running and '<noscript><meta http-equiv="refresh" content="3"></noscript>' in running
    assert f'data-job-url="/api/v1/imports/{job.pk}/"' in running and 'data-finished="false"' in running
    failed = import_tape(draft, csv_upload([loan_row(1), loan_row(2, total_claim="-5", region="")]))
    page = browser.get(f"/portfolios/{draft.pk}/edit/imports/{failed.pk}/").content.decode()
    assert "Nothing was imported" in page and page.count("<tr><td>3</td>") == failed.error_count >= 2
    assert f"/api/v1/imports/{failed.pk}/errors.csv" in page
    summary = browser.get(f"/portfolios/{draft.pk}/edit/submit/").content.decode()
    assert "No loan tape imported yet." in summary and "disabled" in summary
    browser.post(f"/portfolios/{draft.pk}/edit/submit/")
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_bad_inputs_come_back_as_field_errors_and_store_nothing(browser, draft, seller_org):
    bad_details = browser.post(
        "/portfolios/new/",
        {
            "seller": seller_org.pk,
            "title": "Cards",
            "debt_type": "consumer_unsecured",
            "currency": "yuan",
            "cutoff_date": "2999-01-01",
            "audience": "open",
        },
    )
    assert bad_details.status_code == 400
    html = bad_details.content.decode()
    assert "Ensure this value has at most 3 characters" in html
    assert Portfolio.objects.count() == 1  # only the fixture's draft
    assert (
        browser.post(
            "/portfolios/new/",
            {
                "seller": seller_org.pk,
                "title": "Later",
                "debt_type": "sme",
                "currency": "CNY",
                "cutoff_date": "2999-01-01",
                "audience": "open",
            },
        )
        .content.decode()
        .count("cannot be in the future")
        == 1
    )

    not_a_tape = browser.post(
        f"/portfolios/{draft.pk}/edit/tape/", {"file": SimpleUploadedFile("tape.xlsx", b"plain text, not a workbook")}
    )
    assert (
        not_a_tape.status_code == 400 and "XLSX workbook whose content matches its name" in not_a_tape.content.decode()
    )
    bad_mapping = browser.post(
        f"/portfolios/{draft.pk}/edit/tape/",
        {"file": csv_upload([loan_row(1)]), "map_loan_id": "No", "map_borrower_id": "No"},
    )
    assert bad_mapping.status_code == 400 and "“No” is already matched to loan_id" in bad_mapping.content.decode()
    assert not LoanTapeImport.objects.exists()

    bad_document = browser.post(
        f"/portfolios/{draft.pk}/edit/documents/",
        {
            "file": SimpleUploadedFile("contract.pdf", b"GIF89a not a pdf"),
            "title": "x",
            "kind": "other",
            "visibility": "public",
        },
    )
    assert bad_document.status_code == 400 and "Upload a PDF" in bad_document.content.decode()
    assert not PortfolioDocument.objects.exists()


def test_only_the_sellers_people_reach_the_wizard(draft, make_user):
    outsider = Client()
    outsider.force_login(make_user("someone@example.com"))
    for step in ("edit/", "edit/tape/", "edit/documents/", "edit/submit/"):
        assert outsider.get(f"/portfolios/{draft.pk}/{step}").status_code == 404
    assert "Listings are created by owners" in outsider.get("/portfolios/mine/").content.decode()
    assert Client().get("/portfolios/new/").status_code == 302


def test_a_seller_removes_a_wrong_document_but_not_from_a_withdrawn_listing(
    browser, draft, member, django_capture_on_commit_callbacks
):
    document = data_room.document_upload(
        user=member, portfolio=draft, file=pdf_upload("Oops"), title="Wrong file", kind="other", visibility="public"
    )
    path = settings.PRIVATE_MEDIA_ROOT + "/" + document.file.name
    page = browser.get(f"/portfolios/{draft.pk}/edit/documents/").content.decode()
    assert f"/portfolios/{draft.pk}/edit/documents/{document.pk}/delete/" in page
    assert browser.get(f"/portfolios/{draft.pk}/edit/documents/{document.pk}/delete/").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(f"/portfolios/{draft.pk}/edit/documents/{document.pk}/delete/")
    assert not PortfolioDocument.objects.exists()
    assert not os.path.exists(path)

    kept = data_room.document_upload(
        user=member, portfolio=draft, file=pdf_upload("Keep"), title="Kept", kind="other", visibility="public"
    )
    draft = services.portfolio_withdraw(user=member, portfolio=draft)
    refused = browser.post(f"/portfolios/{draft.pk}/edit/documents/{kept.pk}/delete/", follow=True)
    assert "stay as they were" in refused.content.decode() and PortfolioDocument.objects.filter(pk=kept.pk).exists()
    with pytest.raises(services.PortfolioError):
        data_room.document_upload(
            user=member, portfolio=draft, file=pdf_upload("Late"), title="Late", kind="other", visibility="public"
        )
