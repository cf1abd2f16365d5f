"""Deposits held against bids and settlements owed by winners (the Stripe flows build on these)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from auctions.models import Auction
from marketplace.money import MoneyField


class Deposit(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        HELD = "held", _("Held")
        RELEASED = "released", _("Released")
        APPLIED = "applied", _("Applied to the price")
        FORFEITED = "forfeited", _("Forfeited")

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="deposits")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="deposits")
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    payment_intent = models.CharField(_("Stripe PaymentIntent"), max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        constraints = [
            models.UniqueConstraint(
                fields=["auction", "user"], condition=Q(status__in=["pending", "held"]), name="deposit_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.auction_id} ({self.status})"


class Settlement(models.Model):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
        PAID = "paid", _("Paid")
        PAID_OUT = "paid_out", _("Paid out")
        DEFAULTED = "defaulted", _("Defaulted")

    UNPAID = (Status.AWAITING_PAYMENT,)

    auction = models.OneToOneField(Auction, on_delete=models.PROTECT, related_name="settlement")
    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="settlements")
    currency = models.CharField(_("currency"), max_length=3)
    hammer_price = MoneyField(_("hammer price"))
    balance_due = MoneyField(_("balance due"))
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.AWAITING_PAYMENT)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")

    def __str__(self) -> str:
        return f"{self.auction_id}: {self.balance_due} {self.currency} ({self.status})"
