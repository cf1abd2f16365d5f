"""Buyer verification: KYC submissions, investor classification, related-party flags, the decision log."""

import os
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.users import Organization, User


class PrivateStorage(FileSystemStorage):
    """Files under PRIVATE_MEDIA_ROOT, read at each use (so tests and deployments can move it), with no URL."""

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    @property
    def file_permissions_mode(self) -> int:
        return 0o600

    @property
    def directory_permissions_mode(self) -> int:
        return 0o700

    def url(self, name: str | None) -> str:
        raise NotImplementedError("private files are served only by views that check the reader")


def private_storage() -> Storage:
    """Identity documents never get a public URL: only views that check the reader serve them."""
    return storages["private"]


def kyc_document_path(instance: Any, filename: str) -> str:
    return f"kyc/{instance.user_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


def evidence_document_path(instance: Any, filename: str) -> str:
    return f"classification/{instance.user_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


# Jurisdictions the platform verifies buyers from.
COUNTRIES = [
    ("CN", _("China (mainland)")),
    ("HK", _("Hong Kong SAR")),
    ("MO", _("Macao SAR")),
    ("TW", _("Taiwan")),
    ("SG", _("Singapore")),
    ("MY", _("Malaysia")),
    ("JP", _("Japan")),
    ("KR", _("South Korea")),
    ("GB", _("United Kingdom")),
    ("US", _("United States")),
    ("DE", _("Germany")),
    ("FR", _("France")),
    ("AU", _("Australia")),
    ("CA", _("Canada")),
]
COUNTRY_CODES = frozenset(code for code, _label in COUNTRIES)


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class KycSubmission(models.Model):
    """One identity submission; a rejected buyer submits again, so history is kept."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        ORGANIZATION = "organization", _("Organization")

    class IdDocumentType(models.TextChoices):
        RESIDENT_ID = "resident_id", _("PRC resident identity card")
        PASSPORT = "passport", _("Passport")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="kyc_submissions")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="kyc_submissions"
    )
    # Individuals
    legal_name = models.CharField(_("legal name"), max_length=150, blank=True)
    id_document_type = models.CharField(_("ID document"), max_length=12, choices=IdDocumentType.choices, blank=True)
    id_number = models.CharField(_("ID document number"), max_length=32, blank=True)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    country = models.CharField(_("country"), max_length=2, choices=COUNTRIES)
    # Organizations
    registration_number = models.CharField(_("registration number"), max_length=32, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=150, blank=True)

    document = models.FileField(_("document"), upload_to=kyc_document_path, storage=private_storage)
    document_content_type = models.CharField(max_length=50, editable=False)
    document_sha256 = models.CharField(max_length=64, editable=False)

    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("KYC submission")
        verbose_name_plural = _("KYC submissions")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(status="pending"), name="kyc_one_pending_per_user"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | ~models.Q(rejection_reason=""), name="kyc_rejection_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()} · {self.get_status_display()}"


class InvestorClassification(models.Model):
    """A request to be treated as a professional investor, with the declared figures and evidence."""

    class Basis(models.TextChoices):
        INSTITUTION = "institution", _("Approved institution")
        EXPERIENCE_AND_NET_ASSETS = (
            "experience_net_assets",
            _("Two or more years of investing and household net financial assets of at least 3,000,000 CNY"),
        )
        FINANCIAL_ASSETS = "financial_assets", _("Financial assets of at least 5,000,000 CNY")
        INCOME = "income", _("Average annual income of at least 400,000 CNY over the last three years")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="classifications")
    basis = models.CharField(_("basis"), max_length=24, choices=Basis.choices)
    investment_experience_years = models.PositiveSmallIntegerField(_("years of investment experience"), default=0)
    household_net_financial_assets = models.DecimalField(
        _("household net financial assets (CNY)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    financial_assets = models.DecimalField(
        _("financial assets (CNY)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    average_annual_income = models.DecimalField(
        _("average annual income, last three years (CNY)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    evidence = models.FileField(_("evidence"), upload_to=evidence_document_path, storage=private_storage, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("investor classification")
        verbose_name_plural = _("investor classifications")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(status="pending"), name="classification_one_pending_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_basis_display()} · {self.get_status_display()}"

    @staticmethod
    def validity() -> timedelta:
        return timedelta(days=settings.PROFESSIONAL_REASSESSMENT_DAYS)


class RelatedPartyFlag(models.Model):
    """Staff's finding that a user is related to a seller, or to a debtor of that seller: no bidding on its lots."""

    class Relation(models.TextChoices):
        SELLER = "seller", _("Related to the seller")
        DEBTOR = "debtor", _("Related to a debtor of the seller")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="related_party_flags")
    seller = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="related_party_flags")
    relation = models.CharField(_("relation"), max_length=10, choices=Relation.choices)
    note = models.TextField(_("note"))
    flagged_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("related-party flag")
        verbose_name_plural = _("related-party flags")
        constraints = [models.UniqueConstraint(fields=["user", "seller", "relation"], name="related_party_unique")]

    def __str__(self) -> str:
        return f"{self.user} ↔ {self.seller} ({self.get_relation_display()})"


class AccountDecision(models.Model):
    """Append-only record of every verification and protection decision: who, what, when, why, from where."""

    class Kind(models.TextChoices):
        KYC_SUBMITTED = "kyc_submitted", _("KYC submitted")
        KYC_APPROVED = "kyc_approved", _("KYC approved")
        KYC_REJECTED = "kyc_rejected", _("KYC rejected")
        CLASSIFICATION_REQUESTED = "classification_requested", _("Professional classification requested")
        CLASSIFIED_PROFESSIONAL = "classified_professional", _("Classified professional")
        CLASSIFICATION_REJECTED = "classification_rejected", _("Professional classification rejected")
        SUSPENDED = "suspended", _("Suspended")
        REINSTATED = "reinstated", _("Reinstated")
        RELATED_PARTY_FLAGGED = "related_party_flagged", _("Related party flagged")
        KNOWLEDGE_TEST_TAKEN = "knowledge_test_taken", _("Knowledge test taken")
        RISK_ACKNOWLEDGED = "risk_acknowledged", _("Risk warning acknowledged")
        DOCUMENT_VIEWED = "document_viewed", _("Private document viewed by staff")
        MEMBERSHIP_CHANGED = "membership_changed", _("Organization membership changed")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="decisions")
    kind = models.CharField(_("decision"), max_length=32, choices=Kind.choices)
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("account decision")
        verbose_name_plural = _("account decisions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.user} · {self.created_at:%Y-%m-%d %H:%M}"
