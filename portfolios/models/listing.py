"""Debt portfolios offered by sellers, and the log of every status change."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User


class Portfolio(models.Model):
    class DebtType(models.TextChoices):
        CONSUMER_UNSECURED = "consumer_unsecured", _("Consumer, unsecured")
        SME = "sme", _("Small and medium enterprises")
        CORPORATE = "corporate", _("Corporate")
        SECURED = "secured", _("Secured / mortgage")
        JUDGMENT_CONFIRMED = "judgment_confirmed", _("Judgment-confirmed claims")

    class Audience(models.TextChoices):
        OPEN = "open", _("Open to retail and professional buyers")
        PROFESSIONAL_ONLY = "professional_only", _("Professional buyers only")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        IN_AUCTION = "in_auction", _("In auction")
        SOLD = "sold", _("Sold")
        UNSOLD = "unsold", _("Unsold")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    seller = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="portfolios")
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    debt_type = models.CharField(_("debt type"), max_length=20, choices=DebtType.choices)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    cutoff_date = models.DateField(_("cut-off date"), help_text=_("The date the balances in the loan tape refer to."))
    regions = ArrayField(models.CharField(max_length=64), verbose_name=_("regions"), default=list, blank=True)
    audience = models.CharField(_("audience"), max_length=20, choices=Audience.choices, default=Audience.OPEN)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("portfolio")
        verbose_name_plural = _("portfolios")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(debt_type="consumer_unsecured", audience="open"),
                name="portfolio_consumer_debt_professional_only",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.seller})"


class PortfolioEvent(models.Model):
    """Append-only: every status change with who made it, when and why."""

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=12, choices=Portfolio.Status.choices)
    to_status = models.CharField(max_length=12, choices=Portfolio.Status.choices)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("portfolio event")
        verbose_name_plural = _("portfolio events")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.portfolio_id}: {self.from_status} → {self.to_status}"
