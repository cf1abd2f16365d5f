"""Loan-tape import jobs, the problems they found, and the figures a successful import leaves on its portfolio."""

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.models.verification import private_storage
from portfolios.models.listing import Portfolio
from portfolios.models.loans import money


def loan_tape_path(instance: Any, filename: str) -> str:
    return f"loan-tapes/{instance.portfolio_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class LoanTapeImport(models.Model):
    """One upload of a loan tape and its import: all rows land together, or none do.

    The uploaded file holds debtors' identities in clear, so it is deleted once the import has run.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Imported")
        FAILED = "failed", _("Failed: nothing imported")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="tape_imports")
    uploaded_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=loan_tape_path, storage=private_storage, blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    file_size = models.PositiveBigIntegerField(_("size in bytes"))
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(_("progress"), default=0.0)
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_with_errors = models.PositiveIntegerField(_("rows with errors"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    loans_imported = models.PositiveIntegerField(_("loans imported"), default=0)
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("loan-tape import")
        verbose_name_plural = _("loan-tape imports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.file_name} → {self.portfolio_id} ({self.status})"


class ImportIssue(models.Model):
    """One problem with a tape: the spreadsheet row (1 is the header; none for the whole file), column and code."""

    job = models.ForeignKey(LoanTapeImport, on_delete=models.CASCADE, related_name="issues")
    row = models.PositiveIntegerField(null=True, blank=True)
    column = models.CharField(max_length=64, blank=True)
    code = models.CharField(max_length=32)
    message = models.CharField(max_length=300)

    class Meta:
        verbose_name = _("import issue")
        verbose_name_plural = _("import issues")
        ordering = ["job", "row", "pk"]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.code}"


class PortfolioStats(models.Model):
    """Headline figures and distributions of a portfolio's loans, computed in the database by each import.

    Amounts are in the portfolio's currency; weights are total claims; distributions are lists of
    `{"key", "loans", "total_claim"}` with groups of fewer than five loans folded into `"other"`.
    """

    portfolio = models.OneToOneField(Portfolio, on_delete=models.CASCADE, primary_key=True, related_name="stats")
    loan_count = models.PositiveIntegerField(_("loans"))
    total_principal = money(_("total principal"))
    total_claim = money(_("total claim (face value)"), db_index=True)
    weighted_average_dpd = models.DecimalField(
        _("claim-weighted average days past due"), max_digits=9, decimal_places=1
    )
    secured_share = models.DecimalField(_("share of claim secured"), max_digits=5, decimal_places=4)
    collateral_coverage = models.DecimalField(_("collateral value / total claim"), max_digits=12, decimal_places=4)
    distributions = models.JSONField(_("distributions"), default=dict)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("portfolio figures")
        verbose_name_plural = _("portfolio figures")

    def __str__(self) -> str:
        return f"figures of {self.portfolio_id}"
