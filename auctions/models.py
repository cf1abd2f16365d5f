"""Auctions, their bidders, the append-only bid ledger and the event stream every client follows."""

from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from marketplace.money import MoneyField
from portfolios.models import Portfolio

MAX_DEPOSIT_SHARE = Decimal("0.20")


class Auction(models.Model):
    class Format(models.TextChoices):
        ENGLISH = "english", _("English (open ascending, proxy bidding)")
        SEALED = "sealed", _("Sealed bid (first price)")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        LIVE = "live", _("Live")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")
        SETTLED = "settled", _("Settled")
        DEFAULTED = "defaulted", _("Defaulted")

    class Result(models.TextChoices):
        SOLD = "sold", _("Sold")
        UNSOLD = "unsold", _("Unsold")

    OPEN = (Status.SCHEDULED, Status.LIVE)

    portfolio = models.ForeignKey(Portfolio, on_delete=models.PROTECT, related_name="auctions")
    previous_round = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next_round"
    )
    round = models.PositiveSmallIntegerField(_("round"), default=1)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices, default=Format.ENGLISH)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    result = models.CharField(_("result"), max_length=6, choices=Result.choices, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("scheduled end"))
    closes_at = models.DateTimeField(_("closes at"), help_text=_("The end, moved later by soft-close extensions."))
    starting_price = MoneyField(_("starting price"))
    reserve_price = MoneyField(_("reserve price"), help_text=_("Hidden: buyers only ever see whether it is met."))
    increment = MoneyField(_("increment"))
    increment_table = models.JSONField(
        _("increment table"), default=list, blank=True, help_text=_('Rows of ["from price", "increment"].')
    )
    deposit_amount = MoneyField(_("deposit"))
    soft_close_window = models.DurationField(_("soft-close window"), default=timedelta(minutes=5))
    soft_close_extension = models.DurationField(_("soft-close extension"), default=timedelta(minutes=5))
    current_price = MoneyField(_("current price"), null=True, blank=True)
    leader = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    leader_since = models.DateTimeField(null=True, blank=True)
    min_next_bid = MoneyField(_("minimum next bid"))
    bid_count = models.PositiveIntegerField(_("bids"), default=0)
    seq = models.PositiveBigIntegerField(_("last event"), default=0)
    final_price = MoneyField(_("final price"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    cancel_reason = models.TextField(_("cancellation reason"), blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("auction")
        verbose_name_plural = _("auctions")
        ordering = ["closes_at", "pk"]
        indexes = [models.Index(fields=["status", "closes_at"]), models.Index(fields=["status", "starts_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="auction_ends_after_start"),
            models.CheckConstraint(condition=Q(closes_at__gte=F("ends_at")), name="auction_closes_not_before_end"),
            models.CheckConstraint(condition=Q(starting_price__gt=0), name="auction_start_positive"),
            models.CheckConstraint(
                condition=Q(reserve_price__gte=F("starting_price")), name="auction_reserve_ge_start"
            ),
            models.CheckConstraint(condition=Q(increment__gt=0), name="auction_increment_positive"),
            models.CheckConstraint(
                condition=Q(deposit_amount__gt=0, deposit_amount__lte=F("starting_price") * MAX_DEPOSIT_SHARE),
                name="auction_deposit_within_bounds",
            ),
            models.UniqueConstraint(
                fields=["portfolio"],
                condition=Q(status__in=["scheduled", "live"]),
                name="auction_one_open_per_portfolio",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.portfolio.title} — round {self.round}"

    @property
    def is_sealed(self) -> bool:
        return self.format == self.Format.SEALED


class Participant(models.Model):
    """A buyer in one auction: their public alias ("Bidder 3"), proxy maximum and sealed bid, all private."""

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="auction_participations")
    number = models.PositiveIntegerField()
    proxy_max = MoneyField(_("proxy maximum"), null=True, blank=True)
    proxy_set_at = models.DateTimeField(null=True, blank=True)
    sealed_amount = MoneyField(_("sealed bid"), null=True, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)
    # {Idempotency-Key or request_id: amount} of each sealed bid the buyer placed here: a sealed bid writes no ledger
    # entry until the close, so a repeated request is recognised by these.
    sealed_requests = models.JSONField(default=dict, blank=True, editable=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["auction", "user"], name="participant_once_per_auction"),
            models.UniqueConstraint(fields=["auction", "number"], name="participant_alias_unique"),
        ]

    def __str__(self) -> str:
        return self.alias

    @property
    def alias(self) -> str:
        return f"Bidder {self.number}"


class Bid(models.Model):
    """The ledger: append-only; a voided bid keeps its row and gains a `BidVoid`."""

    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        PROXY = "proxy", _("Proxy")
        SEALED = "sealed", _("Sealed")

    auction = models.ForeignKey(Auction, on_delete=models.PROTECT, related_name="bids")
    seq = models.PositiveBigIntegerField()
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="bids")
    bidder = models.ForeignKey(User, on_delete=models.PROTECT, related_name="bids")
    amount = MoneyField(_("amount"))
    kind = models.CharField(max_length=6, choices=Kind.choices)
    placed_at = models.DateTimeField(default=timezone.now)
    request_key = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("bid")
        verbose_name_plural = _("bids")
        ordering = ["auction", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["auction", "seq"], name="bid_seq_unique"),
            models.UniqueConstraint(
                fields=["auction", "bidder", "request_key"], condition=~Q(request_key=""), name="bid_request_once"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.amount} by {self.participant}"


class BidVoid(models.Model):
    bid = models.OneToOneField(Bid, on_delete=models.PROTECT, related_name="void")
    voided_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    voided_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"void of {self.bid}"


class AuctionEvent(models.Model):
    """Every change of an auction, numbered per auction without gaps; the stream clients resync from."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        BID = "bid", _("Bid")
        EXTENDED = "extended", _("Extended")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")
        VOIDED = "voided", _("Bid voided")

    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("auction event")
        verbose_name_plural = _("auction events")
        ordering = ["auction", "seq"]
        constraints = [models.UniqueConstraint(fields=["auction", "seq"], name="auction_event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.auction_id} #{self.seq} {self.kind}"


class Watch(models.Model):
    """A user following an auction ("my auctions"), optionally asking to be told when it is about to end."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="watches")
    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="watches")
    notify_ending_soon = models.BooleanField(_("tell me before it ends"), default=True)
    ending_soon_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("watch")
        verbose_name_plural = _("watches")
        constraints = [models.UniqueConstraint(fields=["user", "auction"], name="watch_once")]

    def __str__(self) -> str:
        return f"{self.user} watches {self.auction_id}"


class Notification(models.Model):
    """What the user was told (outbid, ending soon, won, lost): listed on their page and sent by e-mail."""

    class Kind(models.TextChoices):
        OUTBID = "outbid", _("Outbid")
        ENDING_SOON = "ending_soon", _("Ending soon")
        WON = "won", _("Won")
        LOST = "lost", _("Lost")
        OFFER = "offer", _("Offer after a default")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    auction = models.ForeignKey(Auction, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    message = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.auction_id}"
