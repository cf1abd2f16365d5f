"""The data room in the browser: NDA form with CSRF, masked loans by the page, documents, every read logged."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portfolios.models import DataRoomAccess, NdaAcceptance
from tests.portfolios.conftest import pdf_upload, pii_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_documents(room_listing, member):
    from portfolios.services import data_room

    portfolio, rows = room_listing
    for title, visibility in (("Court <b>judgments</b>", "data_room"), ("Sample contract", "public")):
        data_room.document_upload(
            user=member,
            portfolio=portfolio,
            file=pdf_upload(title),
            title=title,
            kind="court_paper",
            visibility=visibility,
        )
    return portfolio, rows


def test_a_buyer_accepts_the_nda_then_pages_through_masked_loans(with_documents, buyer):
    portfolio, rows = with_documents
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.10")
    browser.force_login(buyer)
    url = f"/portfolios/{portfolio.pk}/data-room/"
    card = browser.get(f"/portfolios/{portfolio.pk}/").content.decode()
    assert url in card and "Court &lt;b&gt;judgments&lt;/b&gt;" in card

    entry = browser.get(url)
    page = entry.content.decode()
    assert entry.status_code == 403 and 'id="nda-form"' in page and "csrfmiddlewaretoken" in page
    assert 'id="loan-table"' not in page
    assert "Sample contract" in page and "Court &lt;b&gt;" not in page  # only public documents before the NDA
    assert browser.post(f"{url}nda/", {"version": 1, "agree": "on"}).status_code == 403  # no CSRF token
    token = browser.cookies["csrftoken"].value
    unticked = browser.post(f"{url}nda/", {"version": 1, "csrfmiddlewaretoken": token}, follow=True)
    assert "nda-form" in unticked.content.decode() and not NdaAcceptance.objects.exists()
    accepted = browser.post(f"{url}nda/", {"version": 1, "agree": "on", "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert NdaAcceptance.objects.get().ip_address == "192.0.2.10"

    first = browser.get(url)
    assert first.status_code == 200
    html = first.content.decode()
    assert html.count('<tr><td class="mono">') == 30 and "Court &lt;b&gt;judgments&lt;/b&gt;" in html
    filtered = browser.get(url, {"legal_status": "judgment"}).content.decode()
    assert filtered.count('<tr><td class="mono">') == 6
    download = browser.get(f"/portfolios/{portfolio.pk}/documents/{portfolio.documents.first().pk}/download/")
    assert download.status_code == 200 and download["X-Watermark-Fingerprint"]
    text = html + filtered
    leaked = [value for value in pii_values(rows) if value in text]
    assert not leaked, leaked
    log = list(DataRoomAccess.objects.order_by("pk").values_list("action", "detail"))
    assert log[:2] == [("loans", "page 1 (web)"), ("loans", "page 1 (web); legal_status=judgment")]
    assert log[2][0] == "document"


def test_paging_and_the_kyc_gate(room_listing, member, make_user, monkeypatch):
    portfolio, _rows = room_listing
    browser = Client()
    assert browser.get(f"/portfolios/{portfolio.pk}/data-room/").status_code == 302  # to the login page
    unverified = make_user("new@example.com")
    browser.force_login(unverified)
    refused = browser.get(f"/portfolios/{portfolio.pk}/data-room/")
    assert refused.status_code == 403 and 'id="kyc-required"' in refused.content.decode()
    browser.force_login(member)
    monkeypatch.setattr("portfolios.data_room_views.LOANS_PER_PAGE", 12)
    second = browser.get(f"/portfolios/{portfolio.pk}/data-room/?page=3").content.decode()
    assert "Page 3 of 3" in second and second.count('<tr><td class="mono">') == 6
    assert DataRoomAccess.objects.filter(user=member, detail="page 3 (web)").count() == 1


def test_every_data_room_response_is_free_of_pii_and_the_seller_reads_the_log(with_documents, buyer, member):
    portfolio, rows = with_documents
    secrets_in_tape = pii_values(rows)
    browser = Client()
    browser.force_login(buyer)
    api = APIClient()
    api.force_authenticate(buyer)
    base = f"/portfolios/{portfolio.pk}"
    bodies = [browser.get(f"{base}/data-room/").content]  # before the NDA
    browser.post(f"{base}/data-room/nda/", {"version": 1, "agree": "on"})
    for url in (f"{base}/", f"{base}/data-room/", f"{base}/data-room/?page=1&region=Zhejiang"):
        bodies.append(browser.get(url).content)
    bodies.append(b"".join(browser.get(f"{base}/data-room/loans.csv").streaming_content))
    for url in (
        f"/api/v1/portfolios/{portfolio.pk}/",
        f"/api/v1/portfolios/{portfolio.pk}/nda/",
        f"/api/v1/portfolios/{portfolio.pk}/loans/",
        f"/api/v1/portfolios/{portfolio.pk}/loans/?legal_status=judgment",
    ):
        bodies.append(api.get(url).content)
    bodies.append(b"".join(api.get(f"/api/v1/portfolios/{portfolio.pk}/loans.csv").streaming_content))
    for document in portfolio.documents.all():
        bodies.append(b"".join(browser.get(f"{base}/documents/{document.pk}/download/").streaming_content))
    assert len(bodies) == 12 and all(bodies)
    for body in bodies:
        text = body.decode("utf-8", "replace")
        leaked = [value for value in secrets_in_tape if value in text]
        assert not leaked, leaked

    assert browser.get(f"{base}/data-room/log/").status_code == 403  # buyers do not read others' reads
    seller = Client()
    seller.force_login(member)
    log = seller.get(f"{base}/data-room/log/").content.decode()
    assert log.count(buyer.email) == DataRoomAccess.objects.filter(user=buyer).count() == 8
    assert "CSV export" in log and "page 1 (web); region=Zhejiang" in log
    assert "203.0.113" not in log and "127.0.0.1" not in log  # addresses stay in admin
