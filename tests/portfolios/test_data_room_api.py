"""The data room over REST: NDA versions, who may read masked loans (403 codes), the access log, the rate limit."""

import json

import pytest
from django.db import DatabaseError, transaction
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.models import Membership, Organization
from portfolios.models import DataRoomAccess, NdaAcceptance, NdaVersion
from portfolios.selectors import MASKED_LOAN_FIELDS
from portfolios.services import data_room
from tests.portfolios.conftest import kyc_approved, pdf_upload, pii_values

pytestmark = pytest.mark.django_db


def api(user=None, ip="203.0.113.7"):
    client = APIClient(REMOTE_ADDR=ip)
    if user is not None:
        client.force_authenticate(user)
    return client


def test_a_buyer_enters_after_kyc_and_the_current_nda_and_sees_only_masked_rows(room_listing, buyer):
    portfolio, rows = room_listing
    client = api(buyer)
    loans_url = f"/api/v1/portfolios/{portfolio.pk}/loans/"
    refused = client.get(loans_url)
    assert refused.status_code == 403 and refused.json()["code"] == "nda_required"

    shown = client.get(f"/api/v1/portfolios/{portfolio.pk}/nda/").json()
    assert shown["version"] == 1 and "confidential" in shown["text"] and shown["accepted_at"] is None
    accepted = client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json")
    assert accepted.status_code == 201
    record = NdaAcceptance.objects.get(user=buyer, portfolio=portfolio)
    assert (record.nda.version, record.ip_address) == (1, "203.0.113.7")

    first = client.get(loans_url)
    assert first.status_code == 200
    body = first.json()
    assert body["count"] == 30 and len(body["results"]) == 30
    assert set(body["results"][0]) == set(MASKED_LOAN_FIELDS)
    assert body["results"][0]["debtor"].startswith("D")  # a pseudonym, not a name
    filtered = client.get(loans_url, {"region": "Zhejiang", "page": 1}).json()
    assert filtered["count"] == len([row for row in rows if row["region"] == "Zhejiang"])
    text = first.content.decode() + json.dumps(filtered)
    leaked = [value for value in pii_values(rows) if value in text]
    assert not leaked, leaked

    log = list(DataRoomAccess.objects.filter(user=buyer).order_by("pk").values_list("action", "detail", "ip_address"))
    assert log == [("loans", "page 1", "203.0.113.7"), ("loans", "page 1; region=Zhejiang", "203.0.113.7")]


def test_refusals_name_what_is_missing(room_listing, make_user):
    portfolio, _rows = room_listing
    loans_url = f"/api/v1/portfolios/{portfolio.pk}/loans/"
    unverified = make_user("nobody@example.com")
    pending = kyc_approved(make_user("pending@example.com"), status="pending")
    for user in (unverified, pending):
        client = api(user)
        assert client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json").status_code == 201
        response = client.get(loans_url)
        assert (response.status_code, response.json()["code"]) == (403, "kyc_required")
    assert api().get(loans_url).status_code in (401, 403)
    assert not DataRoomAccess.objects.exists()  # refused reads read nothing


def test_a_new_nda_version_requires_accepting_again(room_listing, buyer):
    portfolio, _rows = room_listing
    client = api(buyer)
    loans_url = f"/api/v1/portfolios/{portfolio.pk}/loans/"
    client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json")
    assert client.get(loans_url).status_code == 200

    NdaVersion.objects.create(version=2, text="Version 2: you also promise not to resell the data.")
    response = client.get(loans_url)
    assert (response.status_code, response.json()["code"]) == (403, "nda_required")
    stale = client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json")
    assert (stale.status_code, stale.json()["code"], stale.json()["current_version"]) == (409, "nda_outdated", 2)
    assert client.get(f"/api/v1/portfolios/{portfolio.pk}/nda/").json()["version"] == 2
    assert client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 2}, format="json").status_code == 201
    assert client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 2}, format="json").status_code == 201
    assert client.get(loans_url).status_code == 200
    versions = NdaAcceptance.objects.filter(user=buyer).values_list("nda__version", flat=True)
    assert sorted(versions) == [1, 2]


def test_the_sellers_people_and_staff_read_without_an_nda_and_are_logged_too(room_listing, member, staff, make_user):
    portfolio, _rows = room_listing
    owner = make_user("owner@jade.example.com")
    Membership.objects.create(user=owner, organization=portfolio.seller, role=Membership.Role.OWNER)
    for user in (member, staff, owner):
        assert api(user).get(f"/api/v1/portfolios/{portfolio.pk}/loans/").status_code == 200
    assert DataRoomAccess.objects.filter(portfolio=portfolio).count() == 3
    other = Organization.objects.create(name="Other AMC", kind=Organization.Kind.ASSET_MANAGEMENT_COMPANY)
    outsider = make_user("trader@other.example.com")
    Membership.objects.create(user=outsider, organization=other, role=Membership.Role.TRADER)
    assert api(outsider).get(f"/api/v1/portfolios/{portfolio.pk}/loans/").json()["code"] == "kyc_required"


def test_a_draft_has_no_data_room_for_buyers(draft, buyer):
    assert api(buyer).get(f"/api/v1/portfolios/{draft.pk}/loans/").status_code == 404
    assert api(buyer).post(f"/api/v1/portfolios/{draft.pk}/nda/", {"version": 1}, format="json").status_code == 404


@override_settings(DATA_ROOM_READ_LIMIT=3)
def test_data_room_reads_are_rate_limited_per_user(room_listing, buyer, member):
    portfolio, _rows = room_listing
    client = api(buyer)
    client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json")
    codes = [client.get(f"/api/v1/portfolios/{portfolio.pk}/loans/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get(f"/api/v1/portfolios/{portfolio.pk}/loans/").json()["code"] == "rate_limited"
    assert api(member).get(f"/api/v1/portfolios/{portfolio.pk}/loans/").status_code == 200  # per user


def test_the_access_log_is_read_only_in_admin(room_listing, member, staff, client):
    portfolio, _rows = room_listing
    api(member).get(f"/api/v1/portfolios/{portfolio.pk}/loans/")
    entry = DataRoomAccess.objects.get()
    client.force_login(staff)
    listing = client.get("/admin/portfolios/dataroomaccess/").content.decode()
    assert member.email in listing and "page 1" in listing
    assert client.get("/admin/portfolios/dataroomaccess/add/").status_code == 403
    assert client.post(f"/admin/portfolios/dataroomaccess/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    page = client.get(f"/admin/portfolios/dataroomaccess/{entry.pk}/change/").content.decode()
    assert 'name="detail"' not in page  # shown, not editable
    assert DataRoomAccess.objects.count() == 1


def test_the_csv_export_is_gated_logged_stamped_and_free_of_pii(room_listing, buyer, member):
    portfolio, rows = room_listing
    client = api(buyer)
    url = f"/api/v1/portfolios/{portfolio.pk}/loans.csv"
    assert client.get(url).json()["code"] == "nda_required"
    client.post(f"/api/v1/portfolios/{portfolio.pk}/nda/", {"version": 1}, format="json")
    response = client.get(url, {"legal_status": "litigation"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    access = DataRoomAccess.objects.get(user=buyer)
    assert access.detail == "CSV export; legal_status=litigation" and len(access.fingerprint) == 16
    stamp, header, *lines = text.splitlines()
    assert stamp.startswith("# Confidential") and buyer.email in stamp and access.fingerprint in stamp
    assert header.split(",") == MASKED_LOAN_FIELDS
    assert len(lines) == len([row for row in rows if row["legal_status"] == "litigation"])
    leaked = [value for value in pii_values(rows) if value in text]
    assert not leaked, leaked
    seller_copy = b"".join(api(member).get(url).streaming_content).decode()
    assert seller_copy.startswith("loan_id,debtor,") and len(seller_copy.splitlines()) == 31


def test_the_access_log_is_append_only_in_the_database(room_listing, member):
    portfolio, _rows = room_listing
    document = data_room.document_upload(
        user=member, portfolio=portfolio, file=pdf_upload("x"), title="Tape notes", kind="other", visibility="public"
    )
    data_room.document_download(user=member, document=document, ip_address="192.0.2.1")
    entry = DataRoomAccess.objects.get()
    for change in (
        lambda: DataRoomAccess.objects.filter(pk=entry.pk).update(detail="nothing happened"),
        lambda: DataRoomAccess.objects.filter(pk=entry.pk).update(document=None, ip_address="10.0.0.1"),
        lambda: DataRoomAccess.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            change()
    data_room.document_delete(user=member, document=document)  # the reference is cleared, the row stays
    entry.refresh_from_db()
    assert entry.document_id is None and entry.detail.startswith("Tape notes") and entry.ip_address == "192.0.2.1"


def test_staff_publish_a_new_nda_version_in_admin_and_cannot_edit_old_ones(staff, client):
    client.force_login(staff)
    form = client.get("/admin/portfolios/ndaversion/add/").content.decode()
    assert 'name="version" value="2"' in form  # the next number is proposed, with the last text to edit
    response = client.post("/admin/portfolios/ndaversion/add/", {"version": 2, "text": "Version two of the NDA."})
    assert response.status_code == 302
    assert list(NdaVersion.objects.values_list("version", flat=True)) == [2, 1]
    first = NdaVersion.objects.get(version=1)
    client.post(f"/admin/portfolios/ndaversion/{first.pk}/change/", {"version": 1, "text": "Rewritten"})
    assert NdaVersion.objects.get(version=1).text == first.text
    assert data_room.nda_current().version == 2
