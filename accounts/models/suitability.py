"""Retail-buyer suitability: knowledge test results, the loss-bearing declaration, risk-warning acknowledgements."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models.users import User


class SuitabilityAssessment(models.Model):
    """One attempt at the knowledge test, with the net worth the buyer declared for the loss simulation."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="suitability_assessments")
    test_version = models.CharField(_("test version"), max_length=20)
    answers = models.JSONField(_("answers"))
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=3)
    passed = models.BooleanField(_("passed"))
    declared_net_worth = models.DecimalField(_("declared net worth"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), default=timezone.now)

    class Meta:
        verbose_name = _("suitability assessment")
        verbose_name_plural = _("suitability assessments")
        ordering = ["-completed_at"]

    def __str__(self) -> str:
        return f"{self.user} · {self.test_version} · {'passed' if self.passed else 'failed'}"


class RiskWarning(models.Model):
    """A published version of the risk warning; buyers acknowledge the current one."""

    version = models.CharField(_("version"), max_length=20, unique=True)
    body = models.TextField(_("text"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("risk warning")
        verbose_name_plural = _("risk warnings")
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return f"Risk warning {self.version}"


class RiskAcknowledgement(models.Model):
    """Who acknowledged which version of the risk warning, when, and from which IP address."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="risk_acknowledgements")
    warning = models.ForeignKey(RiskWarning, on_delete=models.PROTECT, related_name="acknowledgements")
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), default=timezone.now)

    class Meta:
        verbose_name = _("risk acknowledgement")
        verbose_name_plural = _("risk acknowledgements")
        constraints = [models.UniqueConstraint(fields=["user", "warning"], name="risk_ack_once_per_version")]

    def __str__(self) -> str:
        return f"{self.user} · {self.warning.version} · {self.acknowledged_at:%Y-%m-%d %H:%M}"
