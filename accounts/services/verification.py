"""Buyer verification: KYC submission and review, investor classification, suspension, related-party flags."""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import rules
from accounts.models import (
    AccountDecision,
    InvestorClassification,
    KycSubmission,
    Membership,
    Organization,
    RelatedPartyFlag,
    ReviewStatus,
    User,
)
from accounts.models.verification import COUNTRY_CODES
from accounts.services.users import AccountError, email_queue

Kind = AccountDecision.Kind


def decision_record(
    *, user: User, kind: str, actor: User | None = None, reason: str = "", ip: str | None = None, **details: Any
) -> AccountDecision:
    return AccountDecision.objects.create(
        user=user, kind=kind, actor=actor, reason=reason, ip_address=ip, details=details
    )


def document_validate(*, document: UploadedFile) -> tuple[str, str]:
    """Check an uploaded document's size and real type; return its content type and SHA-256."""
    if document.size is None or document.size > settings.KYC_MAX_UPLOAD_BYTES:
        limit = settings.KYC_MAX_UPLOAD_BYTES // (1024 * 1024)
        raise ValidationError({"document": _("The file is larger than %(limit)d MB.") % {"limit": limit}})
    document.seek(0)
    content_type = rules.sniff_document_type(document.read(16), document.name or "")
    if content_type is None:
        raise ValidationError({"document": _("Upload a PDF, PNG or JPEG file whose content matches its name.")})
    digest = hashlib.sha256()
    document.seek(0)
    for chunk in document.chunks():
        digest.update(chunk)
    document.seek(0)
    return content_type, digest.hexdigest()


@contextmanager
def _files_removed_on_rollback() -> Iterator[list[FieldFile]]:
    """Collect files saved inside a transaction; if it fails, delete them so nothing is left half-stored."""
    saved: list[FieldFile] = []
    try:
        yield saved
    except BaseException:
        for file in saved:
            if file.name:
                file.storage.delete(file.name)
        raise


def _validate_individual(data: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    born: date | None = data.get("date_of_birth")
    today = timezone.localdate()
    if born is None:
        errors["date_of_birth"] = _("Enter your date of birth.")
    elif born > today or rules.age_on(today, born=born) < rules.ADULT_AGE:
        errors["date_of_birth"] = _("Buyers must be at least %(age)d years old.") % {"age": rules.ADULT_AGE}
    number = data.get("id_number", "")
    if data.get("id_document_type") == KycSubmission.IdDocumentType.RESIDENT_ID:
        if data.get("country") != "CN":
            errors["id_document_type"] = _("A PRC resident identity card goes with the country China.")
        elif not rules.resident_id_is_valid(number, date_of_birth=born if "date_of_birth" not in errors else None):
            errors["id_number"] = _(
                "A resident identity number has 18 characters (17 digits and a digit or X), contains your "
                "date of birth and ends with a valid check character."
            )
    elif not rules.passport_number_is_valid(number):
        errors["id_number"] = _("A passport number has 6 to 20 capital letters and digits.")
    if not data.get("legal_name", "").strip():
        errors["legal_name"] = _("Enter your name as on your ID document.")
    if errors:
        raise ValidationError(errors)


def _validate_organization(user: User, data: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    organization: Organization | None = data.get("organization")
    if (
        organization is None
        or not Membership.objects.filter(user=user, organization=organization, role=Membership.Role.OWNER).exists()
    ):
        errors["organization"] = _("Choose an organization you own.")
    if not rules.registration_number_is_valid(data.get("registration_number", ""), country=data.get("country", "")):
        errors["registration_number"] = _(
            "Enter the 18-character unified social credit code (or, outside China, the registry number)."
        )
    if not data.get("legal_representative", "").strip():
        errors["legal_representative"] = _("Enter the legal representative's name.")
    if errors:
        raise ValidationError(errors)


KYC_FIELDS: dict[str, tuple[str, ...]] = {
    KycSubmission.Kind.INDIVIDUAL: ("legal_name", "id_document_type", "id_number", "date_of_birth", "country"),
    KycSubmission.Kind.ORGANIZATION: ("organization", "registration_number", "legal_representative", "country"),
}


def kyc_submit(*, user: User, kind: str, data: dict[str, Any], document: UploadedFile, ip: str | None) -> KycSubmission:
    """Submit identity for review. Nothing is stored unless every field and the document pass."""
    if kind not in KYC_FIELDS:
        raise ValidationError({"kind": _("Choose individual or organization.")})
    data = {field: data.get(field) for field in KYC_FIELDS[kind]}
    for key in set(data) - {"date_of_birth", "organization"}:  # text fields: absent means empty
        data[key] = str(data[key] or "").strip()
    for key in {"id_number", "registration_number", "country"} & set(data):
        data[key] = data[key].upper()
    if data["country"] not in COUNTRY_CODES:
        raise ValidationError({"country": _("Choose a country from the list.")})
    if kind == KycSubmission.Kind.INDIVIDUAL:
        _validate_individual(data)
    else:
        _validate_organization(user, data)
    content_type, sha256 = document_validate(document=document)
    with transaction.atomic(), _files_removed_on_rollback() as saved:
        User.objects.select_for_update().get(pk=user.pk)  # one submission at a time per user
        latest = user.kyc_submissions.order_by("-submitted_at").first()
        if latest is not None and latest.status == ReviewStatus.PENDING:
            raise AccountError("kyc_pending", _("Your identity is already being reviewed."))
        if latest is not None and latest.status == ReviewStatus.APPROVED:
            raise AccountError("kyc_approved", _("Your identity is already verified."))
        submission = KycSubmission(
            user=user, kind=kind, document=document, document_content_type=content_type, document_sha256=sha256, **data
        )
        saved.append(submission.document)
        submission.save()
        decision_record(user=user, kind=Kind.KYC_SUBMITTED, actor=user, ip=ip, submission=submission.pk)
    return submission


def _notify(user: User, template: str, context: dict[str, Any], subject: str) -> None:
    email_queue(
        to=user.email,
        subject=subject,
        template=template,
        context={"user": user, "site_url": settings.SITE_URL, **context},
    )


def kyc_review(*, submission: KycSubmission, reviewer: User, approve: bool, reason: str = "") -> KycSubmission:
    """Staff approve or reject a pending submission (a rejection needs a reason); the buyer is e-mailed."""
    reason = reason.strip()
    if not approve and not reason:
        raise ValidationError({"reason": _("Say why the submission is rejected: the buyer reads it.")})
    with transaction.atomic():
        submission = KycSubmission.objects.select_for_update().get(pk=submission.pk)
        if submission.status != ReviewStatus.PENDING:
            raise AccountError("not_pending", _("This submission was already reviewed."))
        submission.status = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
        submission.rejection_reason = "" if approve else reason
        submission.reviewed_at, submission.reviewed_by = timezone.now(), reviewer
        submission.save(update_fields=["status", "rejection_reason", "reviewed_at", "reviewed_by"])
        kind = Kind.KYC_APPROVED if approve else Kind.KYC_REJECTED
        decision_record(user=submission.user, kind=kind, actor=reviewer, reason=reason, submission=submission.pk)
        _notify(
            submission.user,
            "accounts/email/kyc_result.txt",
            {"submission": submission},
            _("Your identity is verified") if approve else _("We could not verify your identity"),
        )
    return submission


def classification_request(
    *, user: User, basis: str, figures: dict[str, Any], evidence: UploadedFile | None, ip: str | None
) -> InvestorClassification:
    """An individual asks to be treated as professional; the declared figures must meet the basis's threshold."""
    if basis == InvestorClassification.Basis.INSTITUTION:
        raise ValidationError({"basis": _("Institutions are classified through their organization's verification.")})
    if basis not in InvestorClassification.Basis.values:
        raise ValidationError({"basis": _("Choose a basis.")})
    if not rules.professional_basis_met(basis=basis, **figures):
        raise ValidationError({"basis": _("The figures you declared do not meet this basis's threshold.")})
    if evidence is None:
        raise ValidationError({"evidence": _("Attach evidence, e.g. a bank or brokerage statement.")})
    document_validate(document=evidence)
    with transaction.atomic(), _files_removed_on_rollback() as saved:
        User.objects.select_for_update().get(pk=user.pk)
        if user.classifications.filter(status=ReviewStatus.PENDING).exists():
            raise AccountError("classification_pending", _("Your request is already being reviewed."))
        classification = InvestorClassification(
            user=user,
            basis=basis,
            evidence=evidence,
            investment_experience_years=figures.get("experience_years") or 0,
            household_net_financial_assets=figures.get("household_net_financial_assets"),
            financial_assets=figures.get("financial_assets"),
            average_annual_income=figures.get("average_annual_income"),
        )
        saved.append(classification.evidence)
        classification.save()
        decision_record(
            user=user,
            kind=Kind.CLASSIFICATION_REQUESTED,
            actor=user,
            ip=ip,
            classification=classification.pk,
            basis=basis,
        )
    return classification


def classification_decide(
    *, classification: InvestorClassification, reviewer: User, confirm: bool, reason: str = ""
) -> InvestorClassification:
    """Staff confirm (valid for two years, then re-assessed) or reject a professional classification."""
    reason = reason.strip()
    if not confirm and not reason:
        raise ValidationError({"reason": _("Say why the request is rejected: the buyer reads it.")})
    with transaction.atomic():
        classification = InvestorClassification.objects.select_for_update().get(pk=classification.pk)
        if classification.status != ReviewStatus.PENDING:
            raise AccountError("not_pending", _("This request was already decided."))
        now = timezone.now()
        classification.status = ReviewStatus.APPROVED if confirm else ReviewStatus.REJECTED
        classification.rejection_reason = "" if confirm else reason
        classification.decided_at, classification.decided_by = now, reviewer
        classification.valid_until = now + InvestorClassification.validity() if confirm else None
        classification.save()
        kind = Kind.CLASSIFIED_PROFESSIONAL if confirm else Kind.CLASSIFICATION_REJECTED
        decision_record(
            user=classification.user, kind=kind, actor=reviewer, reason=reason, classification=classification.pk
        )
    return classification


def user_suspend(*, user: User, actor: User, suspended: bool, reason: str) -> User:
    if not reason.strip():
        raise ValidationError({"reason": _("Give a reason.")})
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.is_suspended != suspended:
            User.objects.filter(pk=user.pk).update(is_suspended=suspended)
            kind = Kind.SUSPENDED if suspended else Kind.REINSTATED
            decision_record(user=user, kind=kind, actor=actor, reason=reason.strip())
    user.is_suspended = suspended
    return user


def membership_set(*, user: User, organization: Organization, role: str, actor: User) -> Membership:
    """Add a member or change a role, logged: owners and traders of a verified institution are professionals."""
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        if created or membership.role != role:
            previous = None if created else membership.role
            membership.role = role
            membership.save(update_fields=["role"])
            decision_record(
                user=user,
                kind=Kind.MEMBERSHIP_CHANGED,
                actor=actor,
                organization=organization.pk,
                role=role,
                previous_role=previous,
            )
    return membership


def membership_remove(*, membership: Membership, actor: User) -> None:
    with transaction.atomic():
        decision_record(
            user=membership.user,
            kind=Kind.MEMBERSHIP_CHANGED,
            actor=actor,
            organization=membership.organization_id,
            role=None,
            previous_role=membership.role,
        )
        membership.delete()


def related_party_flag(*, user: User, seller: Organization, relation: str, note: str, actor: User) -> RelatedPartyFlag:
    if not note.strip():
        raise ValidationError({"note": _("Describe the relation.")})
    with transaction.atomic():
        flag, created = RelatedPartyFlag.objects.get_or_create(
            user=user, seller=seller, relation=relation, defaults={"note": note.strip(), "flagged_by": actor}
        )
        if created:
            decision_record(
                user=user,
                kind=Kind.RELATED_PARTY_FLAGGED,
                actor=actor,
                reason=note.strip(),
                seller=seller.pk,
                relation=relation,
            )
    return flag
