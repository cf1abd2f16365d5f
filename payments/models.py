"""Deposits held against bids and settlements owed by winners (the Stripe flows build on these)."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization, User
from auctions.models import Auction
from marketplace.money import MoneyField


class Deposit(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        HELD = "held", _("Held")
        RELEASED = "released", _("Released")
        APPLIED = "applied", _("Applied to the price")
        FORFEITED = "forfeited", _("Forfeited")
        FAILED = "failed", _("Failed (card declined or authentication failed)")

    # Allowed changes, the one table services and webhooks obey (Stripe events may come late or twice).
    TRANSITIONS: dict[str, tuple[str, ...]] = {
        Status.PENDING: (Status.HELD, Status.FAILED, Status.RELEASED),
        Status.HELD: (Status.RELEASED, Status.APPLIED, Status.FORFEITED),
        Status.APPLIED: (Status.FORFEITED,),  # the winner did not pay the balance
    }

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="deposits")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="deposits")
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    payment_intent = models.CharField(_("Stripe PaymentIntent"), max_length=64, blank=True)
    failure_message = models.CharField(_("why it failed"), max_length=300, blank=True)
    request_key = models.CharField(_("client's Idempotency-Key"), max_length=64, blank=True)
    held_at = models.DateTimeField(_("held since"), null=True, blank=True)
    stripe_done_at = models.DateTimeField(
        _("Stripe matched"), null=True, blank=True, help_text=_("When the capture or cancel of the hold was confirmed.")
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        constraints = [
            models.UniqueConstraint(
                fields=["auction", "user"], condition=Q(status__in=["pending", "held"]), name="deposit_one_active"
            ),
            models.UniqueConstraint(
                fields=["user", "request_key"], condition=~Q(request_key=""), name="deposit_one_per_request_key"
            ),
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
    buyer_premium = MoneyField(_("buyer's premium"), default=0)
    seller_commission = MoneyField(_("seller commission"), default=0)
    deposit_applied = MoneyField(_("deposit applied"), default=0)
    balance_due = MoneyField(_("balance due"), help_text=_("Hammer price plus premium, less the deposit applied."))
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.AWAITING_PAYMENT)
    payment_intent = models.CharField(_("balance PaymentIntent"), max_length=64, blank=True)
    bank_reference = models.CharField(_("bank transfer reference"), max_length=100, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    refunded_at = models.DateTimeField(
        _("late payment refunded"), null=True, blank=True, help_text=_("A balance paid after the default, given back.")
    )
    payout_amount = MoneyField(_("payout to the seller"), default=0)
    payout_transfer = models.CharField(_("Stripe transfer"), max_length=64, blank=True)
    payout_reference = models.CharField(_("payout bank reference"), max_length=100, blank=True)
    paid_out_at = models.DateTimeField(_("paid out at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")

    def __str__(self) -> str:
        return f"{self.auction_id}: {self.balance_due} {self.currency} ({self.status})"


class PayoutAccount(models.Model):
    """A seller organization's Stripe Connect account: payouts go there by transfer (else by staff bank transfer)."""

    organization = models.OneToOneField(Organization, on_delete=models.PROTECT, related_name="payout_account")
    stripe_account = models.CharField(_("connected account"), max_length=64, help_text=_("acct_..."))

    class Meta:
        verbose_name = _("payout account")
        verbose_name_plural = _("payout accounts")

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.stripe_account}"


class WebhookEvent(models.Model):
    """A Stripe event as received, stored by its id so a repeated delivery is processed once."""

    id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(_("type"), max_length=100)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Stripe webhook event")
        verbose_name_plural = _("Stripe webhook events")

    def __str__(self) -> str:
        return f"{self.id} {self.type}"


class LedgerEntry(models.Model):
    """One leg of a double-entry money movement. The legs sharing a `transaction` sum to zero; a transaction is
    posted once (its key is derived from our ids), in the same database transaction as the change it records."""

    transaction = models.CharField(_("transaction"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20)
    account = models.CharField(_("account"), max_length=100)
    amount = MoneyField(_("amount"), help_text=_("Debit positive, credit negative."))
    currency = models.CharField(_("currency"), max_length=3)
    settlement = models.ForeignKey(
        Settlement, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries"
    )
    deposit = models.ForeignKey(Deposit, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger_entries")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        constraints = [models.UniqueConstraint(fields=["transaction", "account"], name="ledger_one_leg_per_account")]

    def __str__(self) -> str:
        return f"{self.transaction} {self.account} {self.amount} {self.currency}"


class ReconciliationIssue(models.Model):
    """A difference between our records and Stripe's (or an unbalanced ledger transaction), for staff to resolve."""

    subject = models.CharField(_("subject"), max_length=100, help_text=_("deposit:<id>, settlement:<id>, ledger:<key>"))
    message = models.CharField(_("difference"), max_length=300)
    found_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reconciliation issue")
        verbose_name_plural = _("reconciliation issues")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "message"], condition=Q(resolved_at__isnull=True), name="reconcile_one_open_issue"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"
