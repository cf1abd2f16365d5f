"""The data room: a portfolio's documents, the NDA texts buyers accept, their acceptances and the access log."""

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.models.verification import private_storage
from portfolios.models.listing import Portfolio


def document_path(instance: Any, filename: str) -> str:
    return f"portfolio-documents/{instance.portfolio_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class PortfolioDocument(models.Model):
    """A file the seller adds to a listing, stored privately: only the download views (which check and log) serve it."""

    class Kind(models.TextChoices):
        SERVICING_FILE = "servicing_file", _("Servicing file")
        LOAN_AGREEMENT = "loan_agreement", _("Sample loan agreement")
        COURT_PAPER = "court_paper", _("Court papers / judgments")
        COLLATERAL = "collateral", _("Collateral papers")
        VALUATION = "valuation", _("Valuation report")
        OTHER = "other", _("Other")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public: any signed-in user")
        DATA_ROOM = "data_room", _("Data room: verified buyers under NDA")

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    visibility = models.CharField(
        _("visibility"), max_length=10, choices=Visibility.choices, default=Visibility.DATA_ROOM
    )
    file = models.FileField(upload_to=document_path, storage=private_storage)
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(max_length=64, editable=False)
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("portfolio document")
        verbose_name_plural = _("portfolio documents")
        ordering = ["portfolio", "uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.title} ({self.file_format})"


class NdaVersion(models.Model):
    """One version of the data-room NDA text; the newest is the one buyers must have accepted. Never edited."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    text = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("NDA version")
        verbose_name_plural = _("NDA versions")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"NDA v{self.version}"


class NdaAcceptance(models.Model):
    """A buyer accepted an NDA version for one portfolio: who, which version, when, from which IP address."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="nda_acceptances")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    nda = models.ForeignKey(NdaVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(_("accepted at"), default=timezone.now)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("NDA acceptance")
        verbose_name_plural = _("NDA acceptances")
        ordering = ["-accepted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "user", "nda"], name="nda_accepted_once_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.user} accepted NDA v{self.nda_id} for {self.portfolio_id}"


class DataRoomAccess(models.Model):
    """Append-only: every read inside a data room (a page of loans, a document download), by whom, when, from where.

    A download's `fingerprint` is also written into the file it served, so a leaked copy names its reader.
    """

    class Action(models.TextChoices):
        LOANS = "loans", _("Loan rows read")
        DOCUMENT = "document", _("Document downloaded")

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="data_room_reads")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    document = models.ForeignKey(PortfolioDocument, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    detail = models.CharField(_("what"), max_length=300, blank=True)
    fingerprint = models.CharField(_("fingerprint"), max_length=32, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("data-room access")
        verbose_name_plural = _("data-room access log")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.portfolio_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"
