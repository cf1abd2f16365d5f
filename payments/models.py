"""Deposits held against bids, settlements owed by winners, runner-up offers after a default, staff refunds."""

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

    # The winner's, and after their default at most one more (the runner-up's): one that has not defaulted at a time.
    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="settlements")
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
    forfeit_seller_amount = MoneyField(
        _("seller's share of the forfeited deposit"), default=0, help_text=_("Owed to the seller after a default.")
    )
    forfeit_payout_transfer = models.CharField(_("forfeiture Stripe transfer"), max_length=64, blank=True)
    forfeit_payout_reference = models.CharField(_("forfeiture payout bank reference"), max_length=100, blank=True)
    forfeit_paid_out_at = models.DateTimeField(_("forfeiture share paid out at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        constraints = [
            models.UniqueConstraint(
                fields=["auction"], condition=~Q(status="defaulted"), name="settlement_one_undefaulted_per_auction"
            )
        ]

    def __str__(self) -> str:
        return f"{self.auction_id}: {self.balance_due} {self.currency} ({self.status})"


class RunnerUpOffer(models.Model):
    """After the winner defaults, the next-highest bidder may buy the lot at their own last bid for a limited time.
    One offer per auction, ever: if it is declined, lapses or its settlement defaults too, the lot goes back."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="runner_up_offers")
    defaulted = models.OneToOneField(
        Settlement, on_delete=models.PROTECT, related_name="+", help_text=_("The winner's settlement that defaulted.")
    )
    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="runner_up_offers")
    amount = MoneyField(_("amount"), help_text=_("The buyer's own last bid: the hammer price if they accept."))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OFFERED)
    expires_at = models.DateTimeField(_("expires"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    settlement = models.OneToOneField(
        Settlement, on_delete=models.PROTECT, null=True, blank=True, related_name="runner_up_offer"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("runner-up offer")
        verbose_name_plural = _("runner-up offers")
        # Stronger than "one open offer per auction": a second default returns the lot rather than offering again.
        constraints = [models.UniqueConstraint(fields=["auction"], name="offer_once_per_auction")]

    def __str__(self) -> str:
        return f"{self.auction_id}: {self.amount} {self.currency} to {self.buyer_id} ({self.status})"


class Refund(models.Model):
    """Staff give back a captured payment (a settlement's balance) or a captured deposit, once, with a reason."""

    settlement = models.OneToOneField(
        Settlement, on_delete=models.PROTECT, null=True, blank=True, related_name="refund"
    )
    deposit = models.OneToOneField(Deposit, on_delete=models.PROTECT, null=True, blank=True, related_name="refund")
    buyer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="refunds")
    amount = MoneyField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    payment_intent = models.CharField(_("refunded PaymentIntent"), max_length=64)
    reason = models.TextField(_("reason"))
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    stripe_refund = models.CharField(_("Stripe refund"), max_length=64, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(
                condition=Q(settlement__isnull=False, deposit__isnull=True)
                | Q(settlement__isnull=True, deposit__isnull=False),
                name="refund_of_one_thing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} to {self.buyer_id} ({self.stripe_refund or 'pending'})"


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
    resolved_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resolution = models.TextField(_("resolution note"), blank=True)

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
