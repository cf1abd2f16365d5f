"""KYC submission and review, investor classification, private documents, the decision log."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import selectors, services
from accounts.models import AccountDecision, InvestorClassification, KycSubmission, Membership, Organization
from tests.accounts.test_rules import resident_id

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% test document\n"
BORN = date(1985, 6, 15)
WRONG_CHECK_DIGIT = resident_id(BORN)[:-1] + ("1" if resident_id(BORN)[-1] == "0" else "0")


def pdf(name: str = "id.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def individual(**overrides: object) -> dict[str, object]:
    return {
        "legal_name": "Li Wei",
        "id_document_type": "resident_id",
        "id_number": resident_id(BORN),
        "date_of_birth": BORN,
        "country": "CN",
        **overrides,
    }


def stored_files() -> list[Path]:
    return [p for p in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.fixture(autouse=True)
def _private_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {**settings.STORAGES["private"], "OPTIONS": {"location": str(tmp_path)}},
    }


@pytest.fixture
def staff(make_user):
    return make_user("compliance@example.com", is_staff=True, is_superuser=True)


def test_submission_is_pending_private_and_logged(make_user):
    user = make_user()
    submission = services.kyc_submit(user=user, kind="individual", data=individual(), document=pdf(), ip="10.0.0.7")
    assert submission.status == "pending" and submission.document_content_type == "application/pdf"
    assert Path(submission.document.path).is_relative_to(settings.PRIVATE_MEDIA_ROOT)
    assert stored_files() == [Path(submission.document.path)]
    assert selectors.kyc_status(user=user) == "pending"
    decision = AccountDecision.objects.get(user=user)
    assert (decision.kind, decision.actor, decision.ip_address) == ("kyc_submitted", user, "10.0.0.7")


@pytest.mark.parametrize(
    ("data", "document", "field"),
    [
        (individual(id_number="12345"), pdf(), "id_number"),
        (individual(id_number=WRONG_CHECK_DIGIT), pdf(), "id_number"),
        (individual(date_of_birth=date(1990, 1, 1)), pdf(), "id_number"),  # the ID says another birthday
        (individual(date_of_birth=timezone.localdate() - timedelta(days=365 * 17)), pdf(), "date_of_birth"),
        (individual(id_document_type="passport", id_number="e12!"), pdf(), "id_number"),
        (individual(country="US"), pdf(), "id_document_type"),
        (individual(legal_name="  "), pdf(), "legal_name"),
        (individual(), pdf("id.pdf", b"<html><script>alert(1)</script>"), "document"),  # forged type
        (individual(), pdf("id.exe", PDF), "document"),
        (individual(), pdf("big.pdf", PDF + b"0" * (50 * 1024 * 1024)), "document"),  # 50 MB
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_stored(make_user, data, document, field):
    user = make_user()
    with pytest.raises(ValidationError) as excinfo:
        services.kyc_submit(user=user, kind="individual", data=data, document=document, ip=None)
    assert field in excinfo.value.message_dict
    assert not KycSubmission.objects.exists() and not AccountDecision.objects.exists()
    assert not stored_files()


def test_passport_holders_from_elsewhere_can_submit(make_user):
    data = individual(id_document_type="passport", id_number="k1234567", country="SG")
    submission = services.kyc_submit(user=make_user(), kind="individual", data=data, document=pdf(), ip=None)
    assert submission.id_number == "K1234567"


def test_one_submission_at_a_time_and_none_after_approval(make_user, staff):
    user = make_user()
    submission = services.kyc_submit(user=user, kind="individual", data=individual(), document=pdf(), ip=None)
    with pytest.raises(services.AccountError) as excinfo:
        services.kyc_submit(user=user, kind="individual", data=individual(), document=pdf(), ip=None)
    assert excinfo.value.code == "kyc_pending"
    services.kyc_review(submission=submission, reviewer=staff, approve=True)
    with pytest.raises(services.AccountError) as excinfo:
        services.kyc_submit(user=user, kind="individual", data=individual(), document=pdf(), ip=None)
    assert excinfo.value.code == "kyc_approved"


def test_review_approves_or_rejects_with_reason_and_tells_the_buyer(
    make_user, staff, django_capture_on_commit_callbacks
):
    user = make_user()
    submission = services.kyc_submit(user=user, kind="individual", data=individual(), document=pdf(), ip=None)
    with pytest.raises(ValidationError):
        services.kyc_review(submission=submission, reviewer=staff, approve=False, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        services.kyc_review(submission=submission, reviewer=staff, approve=False, reason="The scan is unreadable.")
    assert selectors.kyc_status(user=user) == "rejected"
    assert "The scan is unreadable." in mail.outbox[-1].body
    with pytest.raises(services.AccountError):
        services.kyc_review(submission=submission, reviewer=staff, approve=True)

    again = services.kyc_submit(user=user, kind="individual", data=individual(), document=pdf(), ip=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.kyc_review(submission=again, reviewer=staff, approve=True)
    assert selectors.kyc_status(user=user) == "approved"
    assert mail.outbox[-1].subject == "Your identity is verified"
    kinds = list(AccountDecision.objects.filter(user=user).order_by("created_at").values_list("kind", "actor__email"))
    assert kinds == [
        ("kyc_submitted", user.email),
        ("kyc_rejected", staff.email),
        ("kyc_submitted", user.email),
        ("kyc_approved", staff.email),
    ]


def test_institution_verified_as_organization_makes_its_members_professional(make_user, staff):
    owner, trader = make_user("owner@fund.example.com"), make_user("trader@fund.example.com")
    fund = Organization.objects.create(name="Pearl Bay Fund", kind=Organization.Kind.INSTITUTIONAL_INVESTOR)
    Membership.objects.create(user=owner, organization=fund, role=Membership.Role.OWNER)
    Membership.objects.create(user=trader, organization=fund, role=Membership.Role.TRADER)
    data = {
        "organization": fund,
        "registration_number": "91350100M000100Y43",
        "legal_representative": "Sun Li",
        "country": "CN",
    }
    with pytest.raises(ValidationError) as excinfo:  # only an owner may submit for the organization
        services.kyc_submit(user=trader, kind="organization", data=data, document=pdf(), ip=None)
    assert "organization" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.kyc_submit(
            user=owner,
            kind="organization",
            data={**data, "registration_number": "91350100M000100Y44"},
            document=pdf(),
            ip=None,
        )
    assert "registration_number" in excinfo.value.message_dict
    submission = services.kyc_submit(user=owner, kind="organization", data=data, document=pdf(), ip=None)
    assert selectors.investor_class(user=trader) == "retail"
    services.kyc_review(submission=submission, reviewer=staff, approve=True)
    assert selectors.kyc_status(user=trader) == "approved"
    assert selectors.investor_class(user=trader) == "professional"


def test_individual_professional_classification_needs_figures_evidence_and_staff(make_user, staff):
    user = make_user()
    figures = {"experience_years": 3, "household_net_financial_assets": 3_500_000}
    with pytest.raises(ValidationError) as excinfo:
        services.classification_request(
            user=user, basis="income", figures={"average_annual_income": 100}, evidence=pdf(), ip=None
        )
    assert "basis" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        services.classification_request(
            user=user, basis="experience_net_assets", figures=figures, evidence=None, ip=None
        )
    assert "evidence" in excinfo.value.message_dict
    request = services.classification_request(
        user=user, basis="experience_net_assets", figures=figures, evidence=pdf("statement.pdf"), ip="10.1.1.1"
    )
    assert selectors.investor_class(user=user) == "retail"  # not until staff confirm
    services.classification_decide(classification=request, reviewer=staff, confirm=True)
    assert selectors.investor_class(user=user) == "professional"
    request.refresh_from_db()
    assert request.valid_until - request.decided_at == timedelta(days=730)
    InvestorClassification.objects.filter(pk=request.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    assert selectors.investor_class(user=user) == "retail"  # re-assessment is due


def test_suspension_and_related_party_flags_are_decisions(make_user, staff, seller_org):
    user = make_user()
    services.user_suspend(user=user, actor=staff, suspended=True, reason="Chargeback fraud under review")
    user.refresh_from_db()
    assert user.is_suspended
    services.related_party_flag(user=user, seller=seller_org, relation="debtor", note="Spouse of a debtor", actor=staff)
    assert selectors.is_related_party(user=user, seller_id=seller_org.pk)
    assert list(AccountDecision.objects.filter(user=user).values_list("kind", flat=True).order_by("created_at")) == [
        "suspended",
        "related_party_flagged",
    ]


def test_documents_are_served_to_owner_and_staff_only(client, make_user, staff):
    owner, other = make_user("owner@example.com"), make_user("other@example.com")
    submission = services.kyc_submit(user=owner, kind="individual", data=individual(), document=pdf(), ip=None)
    url = f"/accounts/documents/kyc/{submission.pk}/"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(other)
    assert client.get(url).status_code == 404
    assert client.get(f"/accounts/documents/passport/{submission.pk}/").status_code == 404
    for reader in (owner, staff):
        client.force_login(reader)
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment")
        assert b"".join(response.streaming_content) == PDF


def test_verification_page_submits_and_shows_the_rejection_reason(client, make_user, staff):
    user = make_user()
    client.force_login(user)
    assert "not verified" in client.get("/accounts/verification/").content.decode()
    bad = client.post(
        "/accounts/verification/", {**individual(id_number="123"), "kind": "individual", "document": pdf()}
    )
    assert bad.status_code == 400 and "resident identity number has 18 characters" in bad.content.decode()
    ok = client.post("/accounts/verification/", {**individual(), "kind": "individual", "document": pdf()})
    assert ok.status_code == 302
    services.kyc_review(
        submission=KycSubmission.objects.get(), reviewer=staff, approve=False, reason="Photo is blurred"
    )
    page = client.get("/accounts/verification/").content.decode()
    assert "Photo is blurred" in page and "not accepted" in page


def test_admin_queue_actions_call_the_services(client, make_user, staff):
    first, second = make_user("a@example.com"), make_user("b@example.com")
    for user in (first, second):
        services.kyc_submit(user=user, kind="individual", data=individual(), document=pdf(), ip=None)
    client.force_login(staff)
    queue = client.get("/admin/accounts/kycsubmission/?status__exact=pending")
    assert queue.status_code == 200 and "a@example.com" in queue.content.decode()
    ids = list(KycSubmission.objects.order_by("pk").values_list("pk", flat=True))
    client.post(
        "/admin/accounts/kycsubmission/", {"action": "approve_identity", "_selected_action": [ids[0]], "apply": "1"}
    )
    prompt = client.post("/admin/accounts/kycsubmission/", {"action": "reject_identity", "_selected_action": [ids[1]]})
    assert "Reason (required" in prompt.content.decode()
    client.post(
        "/admin/accounts/kycsubmission/",
        {"action": "reject_identity", "_selected_action": [ids[1]], "apply": "1", "reason": "Expired passport"},
    )
    assert selectors.kyc_status(user=first) == "approved"
    assert KycSubmission.objects.get(pk=ids[1]).rejection_reason == "Expired passport"
    log = client.get(f"/admin/accounts/accountdecision/{AccountDecision.objects.first().pk}/change/")
    assert log.status_code == 200 and 'name="reason"' not in log.content.decode()  # read-only


def test_kyc_over_rest(make_user):
    api = APIClient()
    api.force_authenticate(make_user())
    bad = api.post(
        "/api/v1/me/kyc/", {**individual(id_number="1"), "kind": "individual", "document": pdf()}, format="multipart"
    )
    assert bad.status_code == 400 and bad.json()["field"] == "id_number"
    created = api.post("/api/v1/me/kyc/", {**individual(), "kind": "individual", "document": pdf()}, format="multipart")
    assert created.status_code == 201 and created.json()["status"] == "pending" and "document" not in created.json()
    again = api.post("/api/v1/me/kyc/", {**individual(), "kind": "individual", "document": pdf()}, format="multipart")
    assert again.status_code == 409 and again.json()["code"] == "kyc_pending"
    assert api.get("/api/v1/me/kyc/").json()["status"] == "pending"
    me = api.get("/api/v1/me/").json()
    assert (me["kyc_status"], me["investor_class"], me["is_suspended"]) == ("pending", "retail", False)


def test_a_failure_after_the_file_is_saved_leaves_no_file_and_no_row(make_user, monkeypatch):
    def fail(**kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("accounts.services.verification.decision_record", fail)
    with pytest.raises(RuntimeError):
        services.kyc_submit(user=make_user(), kind="individual", data=individual(), document=pdf(), ip=None)
    assert not KycSubmission.objects.exists()
    assert not stored_files()


@pytest.fixture
def viewer(make_user):
    """Staff who may look at the KYC queue but not decide."""
    from django.contrib.auth.models import Permission

    user = make_user("junior@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_kycsubmission"))
    return user


def test_view_only_staff_cannot_decide(client, make_user, viewer):
    submission = services.kyc_submit(user=make_user(), kind="individual", data=individual(), document=pdf(), ip=None)
    client.force_login(viewer)
    queue = client.get("/admin/accounts/kycsubmission/")
    assert queue.status_code == 200 and "approve_identity" not in queue.content.decode()
    client.post(
        "/admin/accounts/kycsubmission/",
        {"action": "approve_identity", "_selected_action": [submission.pk], "apply": "1"},
    )
    assert KycSubmission.objects.get().status == "pending"
    assert not AccountDecision.objects.filter(kind="kyc_approved").exists()


def test_staff_document_reads_need_the_view_permission_and_are_logged(client, make_user, viewer):
    owner = make_user("owner@example.com")
    submission = services.kyc_submit(user=owner, kind="individual", data=individual(), document=pdf(), ip=None)
    url = f"/accounts/documents/kyc/{submission.pk}/"
    client.force_login(make_user("sales@example.com", is_staff=True))  # staff, but no permission on KYC
    assert client.get(url).status_code == 404
    client.force_login(viewer)
    assert client.get(url).status_code == 200
    read = AccountDecision.objects.get(kind="document_viewed")
    assert (read.user, read.actor, read.details) == (owner, viewer, {"document": f"kyc/{submission.pk}"})


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "individual", "country": "CN"},
        {"kind": "individual", "country": "CN", "id_document_type": "passport"},
        {"kind": "individual", **individual(country="ZZ")},
        {"kind": "organization", "country": "CN"},
    ],
)
def test_incomplete_rest_submissions_are_400_with_a_field(make_user, payload):
    api = APIClient()
    api.force_authenticate(make_user())
    response = api.post("/api/v1/me/kyc/", {**payload, "document": pdf()}, format="multipart")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and response.json()["field"]
    assert not KycSubmission.objects.exists()


def test_related_party_flags_cannot_be_deleted_in_admin(client, staff, make_user, seller_org):
    flag = services.related_party_flag(
        user=make_user(), seller=seller_org, relation="seller", note="Director", actor=staff
    )
    client.force_login(staff)
    assert client.get(f"/admin/accounts/relatedpartyflag/{flag.pk}/delete/").status_code == 403
    services.related_party_flag(user=flag.user, seller=seller_org, relation="seller", note="again", actor=staff)
    assert AccountDecision.objects.filter(kind="related_party_flagged").count() == 1  # no change, no new record


def test_a_verified_organization_keeps_its_kind_and_number_in_admin(client, make_user, staff):
    owner = make_user("owner@fund.example.com")
    fund = Organization.objects.create(name="Pearl Bay Fund", kind=Organization.Kind.INSTITUTIONAL_INVESTOR)
    Membership.objects.create(user=owner, organization=fund, role=Membership.Role.OWNER)
    admin = make_user("root@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = f"/admin/accounts/organization/{fund.pk}/change/"
    assert 'name="kind"' in client.get(url).content.decode()  # not verified yet: staff may correct it
    data = {"organization": fund, "registration_number": "91350100M000100Y43", "legal_representative": "Sun Li"}
    submission = services.kyc_submit(
        user=owner, kind="organization", data={**data, "country": "CN"}, document=pdf(), ip=None
    )
    services.kyc_review(submission=submission, reviewer=staff, approve=True)
    page = client.get(url).content.decode()
    assert 'name="kind"' not in page and 'name="registration_number"' not in page and "Pearl Bay Fund" in page
