"""Seller documents: checked uploads stored privately, listed on the card, downloads logged and watermarked."""

import csv
import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from openpyxl import load_workbook
from pypdf import PdfReader, PdfWriter
from rest_framework.test import APIClient

from portfolios.models import DataRoomAccess, PortfolioDocument
from tests.portfolios.conftest import HEADER, pdf_upload, xlsx_upload

pytestmark = pytest.mark.django_db


def api(user=None):
    client = APIClient(REMOTE_ADDR="198.51.100.4")
    if user is not None:
        client.force_authenticate(user)
    return client


def upload(user, portfolio, file, **fields):
    data = {"title": "Servicing history", "kind": "servicing_file", "visibility": "data_room", "file": file, **fields}
    return api(user).post(f"/api/v1/portfolios/{portfolio.pk}/documents/", data, format="multipart")


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def stored_files() -> list[str]:
    from django.conf import settings

    root = settings.PRIVATE_MEDIA_ROOT
    return [os.path.join(d, f) for d, _s, files in os.walk(root) for f in files if "portfolio-documents" in d]


def test_bad_uploads_are_field_errors_and_store_nothing(room_listing, member, make_user):
    portfolio, _rows = room_listing
    before = stored_files()
    fake_pdf = SimpleUploadedFile("contract.pdf", b"MZ\x90\x00 this is an executable", content_type="application/pdf")
    response = upload(member, portfolio, fake_pdf)
    assert response.status_code == 400 and response.json()["field"] == "file"
    assert "PDF" in response.json()["message"]
    truncated = SimpleUploadedFile("judgment.pdf", pdf_upload("Judgment").read()[:200])
    assert upload(member, portfolio, truncated).json()["field"] == "file"  # starts like a PDF, is none
    zip_as_xlsx = SimpleUploadedFile("tape.xlsx", b"PK\x03\x04" + b"\x00" * 40)
    assert upload(member, portfolio, zip_as_xlsx).json()["field"] == "file"
    script = SimpleUploadedFile("notes.html", b"<script>alert(1)</script>")
    assert upload(member, portfolio, script).json()["field"] == "file"
    with override_settings(PORTFOLIO_DOCUMENT_MAX_UPLOAD_BYTES=1000):
        big = upload(member, portfolio, pdf_upload("x" * 10, "y" * 10))
        assert big.status_code == 400 and "larger than" in big.json()["message"]
    locked = io.BytesIO()
    writer = PdfWriter(clone_from=PdfReader(pdf_upload("Secret")))
    writer.encrypt("owner-password")
    writer.write(locked)
    assert upload(member, portfolio, SimpleUploadedFile("locked.pdf", locked.getvalue())).json()["field"] == "file"
    bad_kind = upload(member, portfolio, pdf_upload("ok"), kind="gossip")
    assert bad_kind.status_code == 400 and bad_kind.json()["field"] == "kind"
    stranger = make_user("stranger@example.com")
    assert upload(stranger, portfolio, pdf_upload("ok")).json()["code"] == "not_seller_member"
    assert not PortfolioDocument.objects.exists()
    assert stored_files() == before


def test_documents_are_listed_on_the_card_with_urls_only_for_readers(room_listing, member, buyer):
    portfolio, _rows = room_listing
    assert (
        upload(member, portfolio, pdf_upload("Court judgment"), title="Judgments", kind="court_paper").status_code
        == 201
    )
    sample = upload(
        member, portfolio, pdf_upload("Sample"), title="Sample contract", kind="loan_agreement", visibility="public"
    )
    assert sample.status_code == 201
    stored = PortfolioDocument.objects.get(title="Judgments")
    assert stored.file_format == "pdf" and len(stored.sha256) == 64 and stored.size > 0
    with pytest.raises(NotImplementedError):
        stored.file.url  # noqa: B018 - private storage has no URL

    def card(user=None):
        return {doc["title"]: doc for doc in api(user).get(f"/api/v1/portfolios/{portfolio.pk}/").json()["documents"]}

    anonymous = card()
    assert set(anonymous) == {"Judgments", "Sample contract"}
    assert anonymous["Judgments"]["kind"] == "court_paper" and anonymous["Judgments"]["size"] == stored.size
    assert all(doc["download_url"] is None for doc in anonymous.values())
    before_nda = card(buyer)
    assert before_nda["Judgments"]["download_url"] is None and before_nda["Sample contract"]["download_url"]
    api(buyer).post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json")
    url = card(buyer)["Judgments"]["download_url"]
    assert url == f"/api/v1/portfolios/{portfolio.pk}/documents/{stored.pk}/"
    assert card(member)["Judgments"]["download_url"] == url


def test_a_data_room_document_is_refused_without_nda_and_logged_when_read(room_listing, member, buyer):
    portfolio, _rows = room_listing
    document_id = upload(member, portfolio, pdf_upload("Judgment page 1", "Judgment page 2")).json()["id"]
    url = f"/api/v1/portfolios/{portfolio.pk}/documents/{document_id}/"
    refused = api(buyer).get(url)
    assert (refused.status_code, refused.json()["code"]) == (403, "nda_required")
    assert api().get(url).status_code in (401, 403)
    assert not DataRoomAccess.objects.exists()

    api(buyer).post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json")
    response = api(buyer).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    pdf = PdfReader(io.BytesIO(body(response)))
    access = DataRoomAccess.objects.get(user=buyer)
    assert (access.action, access.document_id, access.ip_address) == ("document", document_id, "198.51.100.4")
    assert len(access.fingerprint) == 16 and response["X-Watermark-Fingerprint"] == access.fingerprint
    for number, page in enumerate(pdf.pages, start=1):
        text = page.extract_text()
        assert f"Judgment page {number}" in text
        assert buyer.email in text and access.fingerprint in text
    assert pdf.metadata is not None and pdf.metadata["/Keywords"] == f"fingerprint:{access.fingerprint}"


def test_csv_and_xlsx_downloads_carry_the_buyers_stamp_and_a_fresh_fingerprint(room_listing, member, buyer):
    portfolio, _rows = room_listing
    content = "\ufeffloan_id,collector,notes\nL-000001,Team A,called twice\n".encode()
    csv_id = upload(member, portfolio, SimpleUploadedFile("servicing.csv", content), title="Servicing log").json()["id"]
    xlsx = xlsx_upload(HEADER[:3], [["L-000001", "individual", "B1"]], name="valuation.xlsx")
    xlsx_id = upload(member, portfolio, xlsx, title="Valuation", kind="valuation").json()["id"]
    client = api(buyer)
    client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json")

    first = body(client.get(f"/api/v1/portfolios/{portfolio.pk}/documents/{csv_id}/")).decode("utf-8-sig")
    second = body(client.get(f"/api/v1/portfolios/{portfolio.pk}/documents/{csv_id}/")).decode("utf-8-sig")
    fingerprints = list(DataRoomAccess.objects.order_by("pk").values_list("fingerprint", flat=True))
    assert len(set(fingerprints)) == 2
    for text, fingerprint in zip((first, second), fingerprints, strict=True):
        stamp, rest = text.split("\r\n", 1)
        assert stamp.startswith("# Confidential") and buyer.email in stamp and fingerprint in stamp
        assert list(csv.reader(io.StringIO(rest))) == [
            ["loan_id", "collector", "notes"],
            ["L-000001", "Team A", "called twice"],
        ]

    workbook = load_workbook(io.BytesIO(body(client.get(f"/api/v1/portfolios/{portfolio.pk}/documents/{xlsx_id}/"))))
    sheet = workbook.active
    xlsx_fingerprint = DataRoomAccess.objects.latest("pk").fingerprint
    assert buyer.email in sheet["A1"].value and xlsx_fingerprint in sheet["A1"].value
    assert [cell.value for cell in sheet[2]] == HEADER[:3]
    assert workbook.properties.keywords == f"fingerprint:{xlsx_fingerprint}"


def test_the_seller_downloads_the_original_file_logged_but_unstamped(room_listing, member):
    portfolio, _rows = room_listing
    content = b"loan_id,notes\nL-1,ok\n"
    document_id = upload(member, portfolio, SimpleUploadedFile("log.csv", content)).json()["id"]
    response = api(member).get(f"/api/v1/portfolios/{portfolio.pk}/documents/{document_id}/")
    assert body(response) == content and "X-Watermark-Fingerprint" not in response
    assert DataRoomAccess.objects.get().user == member
