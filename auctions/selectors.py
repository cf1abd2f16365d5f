"""Read queries about auctions for the API, pages, consumers and the buyer-protection checks."""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.timezone import is_aware, make_aware
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.eligibility import Eligibility, buyer_eligibility_check
from accounts.models import User
from auctions.models import Auction, AuctionEvent, Bid, Participant
from marketplace.money import text
from marketplace.sql import Prepared, columns
from payments import selectors as payment_selectors
from payments.models import Deposit
from portfolios.models import Portfolio


def iso(moment: datetime | None) -> str | None:
    """The API's form of a time: ISO 8601 in UTC with `Z`."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def auction_list(*, filters: Mapping[str, str | None] | None = None) -> QuerySet[Auction]:
    """Public auctions (cancelled ones too: buyers may have watched them), soonest closing first."""
    filters = filters or {}
    auctions = _with_leader_alias(Auction.objects.select_related("portfolio", "portfolio__seller"))
    if status := filters.get("status"):
        auctions = auctions.filter(status=status)
    if auction_format := filters.get("format"):
        auctions = auctions.filter(format=auction_format)
    if ending_before := filters.get("ending_before"):
        auctions = auctions.filter(closes_at__lt=_moment(ending_before, "ending_before"))
    return auctions.order_by("closes_at", "pk")


def _moment(text: str, field: str) -> datetime:
    """An ISO 8601 time from a query parameter (UTC if it names no offset); ValidationError naming `field`."""
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError({field: _("Give a time in ISO 8601, such as 2026-12-03T18:00:00Z.")})
    return moment if is_aware(moment) else make_aware(moment, UTC)


def auction_get(*, auction_id: int) -> Auction:
    return _with_leader_alias(Auction.objects.select_related("portfolio", "portfolio__seller", "leader")).get(
        pk=auction_id
    )


def _with_leader_alias(auctions: QuerySet[Auction]) -> QuerySet[Auction]:
    """Each auction with its leader's bidder number (`leader_number`), so that lists take no query per row."""
    seat = Participant.objects.filter(auction=OuterRef("pk"), user=OuterRef("leader"))
    return auctions.annotate(leader_number=Subquery(seat.values("number")[:1]))


def alias_of(*, auction: Auction, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    number = Participant.objects.filter(auction=auction, user_id=user_id).values_list("number", flat=True).first()
    return None if number is None else f"Bidder {number}"


def _leader_alias(auction: Auction) -> str | None:
    if hasattr(auction, "leader_number"):  # read by auction_list / auction_get
        return None if auction.leader_number is None else f"Bidder {auction.leader_number}"
    return alias_of(auction=auction, user_id=auction.leader_id)


@dataclass(frozen=True)
class Position:
    """The viewer's seat in an auction (None before their first bid) and their latest deposit status there."""

    seat: Participant | None
    deposit_status: str | None


def snapshot(*, auction: Auction, user: User | None = None, position: Position | None = None) -> dict[str, Any]:
    """The auction as every client sees it (`reserve_met`, never the reserve), plus the viewer's own position (read
    unless given: a bid knows it already)."""
    hidden = auction.is_sealed and auction.status in Auction.OPEN
    viewer = user if user is not None and user.is_authenticated else None
    data: dict[str, Any] = {
        "id": auction.pk,
        "portfolio": auction.portfolio_id,
        "title": auction.portfolio.title,
        "format": auction.format,
        "round": auction.round,
        "status": auction.status,
        "result": auction.result or None,
        "currency": auction.currency,
        "starts_at": iso(auction.starts_at),
        "ends_at": iso(auction.ends_at),
        "closes_at": iso(auction.closes_at),
        "server_time": iso(timezone.now()),
        "seq": auction.seq,
        "starting_price": text(auction.starting_price),
        "current_price": None if hidden else text(auction.current_price),
        "min_next_bid": None if hidden else text(auction.min_next_bid),
        "bid_count": None if hidden else auction.bid_count,
        "leader": None if hidden else _leader_alias(auction),
        "reserve_met": None
        if hidden
        else auction.current_price is not None and auction.current_price >= auction.reserve_price,
        "final_price": text(auction.final_price),
        "deposit_amount": text(auction.deposit_amount),
        "soft_close_window_seconds": int(auction.soft_close_window.total_seconds()),
        "soft_close_extension_seconds": int(auction.soft_close_extension.total_seconds()),
        "deposit_status": None,
        "leading": False,
        "your_alias": None,
        "your_proxy_max": None,
        "your_sealed_bid": None,
    }
    if viewer is not None:
        if position is None:
            seat = Participant.objects.filter(auction=auction, user=viewer).first()
            position = Position(seat, payment_selectors.deposit_status(user=viewer, auction_id=auction.pk))
        participant = position.seat
        data["deposit_status"] = position.deposit_status
        data["leading"] = not hidden and auction.leader_id == viewer.pk
        if participant is not None:
            data["your_alias"] = participant.alias
            data["your_proxy_max"] = text(participant.proxy_max)
            data["your_sealed_bid"] = text(participant.sealed_amount)
    return data


def bid_list(*, auction: Auction) -> QuerySet[Bid]:
    """The public ledger (empty while a sealed auction runs), with voided bids marked."""
    return auction.bids.select_related("participant", "void").order_by("seq")


def ledger_entry(*, bid: Bid, voided: bool | None = None) -> dict[str, Any]:
    """A ledger entry as the API and the live room show it; `voided` is read from the bid's `void` (selected with it,
    as bid_list does) unless known."""
    return {
        "seq": bid.seq,
        "amount": text(bid.amount),
        "bidder": bid.participant.alias,
        "kind": bid.kind,
        "placed_at": iso(bid.placed_at),
        "voided": hasattr(bid, "void") if voided is None else voided,
    }


def price_points(*, auction: Auction, limit: int) -> list[dict[str, Any]]:
    """The latest standing (not voided) bids, oldest first, for the room's price chart."""
    rows = auction.bids.filter(void__isnull=True).order_by("-seq").values_list("seq", "amount", "placed_at")[:limit]
    return [{"seq": seq, "amount": text(amount), "at": iso(at)} for seq, amount, at in reversed(rows)]


def event_list(*, auction: Auction, since_seq: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Event payloads after `since_seq`, in order, as they were broadcast."""
    events = AuctionEvent.objects.filter(auction=auction, seq__gt=since_seq).order_by("seq")[:limit]
    return [event.payload for event in events]


def open_commitments(*, user: User, excluding_auction_id: int | None = None) -> Decimal:
    """A buyer's money at stake, per auction the larger of: the position they lead or won and have not paid for
    (a proxy maximum counts in full), their sealed bid, or a deposit on hold. The one definition of exposure."""
    stakes: dict[int, Decimal] = {}

    def stake(auction_id: int, amount: Decimal | None) -> None:
        if amount is not None:
            stakes[auction_id] = max(stakes.get(auction_id, Decimal(0)), amount)

    leading = Auction.objects.filter(leader=user).filter(
        Q(status=Auction.Status.LIVE) | Q(status=Auction.Status.CLOSED, result=Auction.Result.SOLD)
    )
    for auction_id, price in leading.values_list("pk", "current_price"):
        stake(auction_id, price)
    for row in Participant.objects.filter(user=user, auction__status__in=Auction.OPEN).values(
        "auction_id", "proxy_max", "sealed_amount", "auction__leader_id"
    ):
        if row["auction__leader_id"] == user.pk:
            stake(row["auction_id"], row["proxy_max"])
        stake(row["auction_id"], row["sealed_amount"])
    for source in (payment_selectors.held_deposits(user=user), payment_selectors.unpaid_settlements(user=user)):
        for auction_id, amount in source.items():
            stake(auction_id, amount)
    stakes.pop(excluding_auction_id, None)  # type: ignore[arg-type]
    return sum(stakes.values(), Decimal(0))


def own_stake(*, user: User, auction: Auction) -> Decimal:
    """What the buyer already has at stake in this auction (so a raise only adds the difference)."""
    return open_commitments(user=user) - open_commitments(user=user, excluding_auction_id=auction.pk)


def bid_blocker(*, user: User | AnonymousUser, auction: Auction) -> Eligibility | None:
    """Why this user cannot bid here right now, with what to do about it; None when the bid form is open."""
    now = timezone.now()
    if auction.status not in Auction.OPEN or now >= auction.closes_at:
        return Eligibility("auction_closed", _("This auction has ended."))
    if auction.status == Auction.Status.SCHEDULED and now < auction.starts_at:
        return Eligibility(
            "auction_not_live",
            _("Bidding opens %(when)s.") % {"when": date_format(auction.starts_at, "DATETIME_FORMAT")},
        )
    eligibility = buyer_eligibility_check(user=user, auction=auction)
    if not eligibility.ok:
        return eligibility
    return deposit_blocker(user=user, auction=auction) if isinstance(user, User) else None


def deposit_blocker(*, user: User, auction: Auction, context: "BidContext | None" = None) -> Eligibility | None:
    """None when the buyer's deposit is held; else why not: barred after defaulting on this portfolio, or unpaid.
    `context` is the bid path's read, which already holds the deposit's status."""
    status = context.deposit_status if context else payment_selectors.deposit_status(user=user, auction_id=auction.pk)
    if status == "held":
        return None
    if payment_selectors.defaulted_on_portfolio(user=user, portfolio_id=auction.portfolio_id):
        message = _("You won an earlier round of this portfolio and did not pay, so you cannot bid on it again.")
        return Eligibility("defaulted_buyer", message)
    message = _("Post the deposit of %(amount)s %(currency)s to bid.")
    values = {"amount": auction.deposit_amount, "currency": auction.currency}
    return Eligibility("deposit_required", message % values, reverse("payments:deposit", args=[auction.pk]))


@dataclass(frozen=True)
class Result:
    """How a closed auction ended, for payments: who won at what price (both None when unsold)."""

    winner_id: int | None
    final_price: Decimal | None
    currency: str


def result(*, auction_id: int) -> Result | None:
    """The result of a closed auction, None while it is open or if it was cancelled."""
    auction = Auction.objects.filter(pk=auction_id, status=Auction.Status.CLOSED).first()
    if auction is None:
        return None
    sold = auction.result == Auction.Result.SOLD
    return Result(auction.leader_id if sold else None, auction.final_price if sold else None, auction.currency)


def auctions_of(*, user: User) -> QuerySet[Auction]:
    """Auctions the user watches or has a seat in (bids, proxy, sealed bid), soonest closing first."""
    return (
        Auction.objects.filter(Q(watches__user=user) | Q(participants__user=user))
        .select_related("portfolio", "leader")
        .distinct()
        .order_by("closes_at", "pk")
    )


def unread_notifications(*, user: User) -> int:
    return user.notifications.filter(read_at__isnull=True).count()


def runner_up(*, auction_id: int, exclude_user_id: int) -> tuple[int, Decimal] | None:
    """The highest bidder other than `exclude_user_id` (the defaulted winner) and their own highest non-voided bid
    in the ledger (a sealed auction's ledger holds the revealed sealed bids); equal amounts: the earlier bid."""
    best = (
        Bid.objects.filter(auction_id=auction_id, void__isnull=True)
        .exclude(bidder_id=exclude_user_id)
        .order_by("-amount", "placed_at", "seq")
        .values_list("bidder_id", "amount")
        .first()
    )
    return None if best is None else (best[0], best[1])


# --- the bid path's reads, in plain SQL (marketplace.sql) ---------------------------------------------------------


@dataclass(frozen=True)
class BidContext:
    """What a bid needs to know before taking any lock, read in one round trip: the auction (an unlocked read; its
    portfolio holds only the seller, the audience and the title), the buyer's standing towards its seller, their
    latest deposit status here, and the bid an earlier request with the same key placed, if any (or whether it
    placed a sealed bid, which has no ledger entry until the close)."""

    auction: Auction
    standing: account_selectors.Standing
    deposit_status: str | None
    replayed_bid_id: int | None
    replayed_sealed_amount: str | None = None  # the amount of the sealed bid the key placed


CONTEXT_PORTFOLIO = ("id", "seller_id", "audience", "title")  # the checks need the first three; the snapshot the title


@functools.cache
def _bid_context() -> Prepared:
    auction = columns(Auction, "a")
    portfolio = columns(Portfolio, "p", CONTEXT_PORTFOLIO)
    sql = f"""
SELECT {auction.sql}, {portfolio.sql}, {account_selectors.standing_columns(seller='p."seller_id"')},
    (SELECT d.status FROM {Deposit._meta.db_table} d WHERE d.auction_id = a.id AND d.user_id = %(user)s
     ORDER BY d.created_at DESC, d.id DESC LIMIT 1) AS deposit_status,
    (SELECT b.id FROM {Bid._meta.db_table} b WHERE %(key)s <> '' AND b.auction_id = a.id AND b.bidder_id = %(user)s
       AND b.request_key = %(key)s ORDER BY b.seq LIMIT 1) AS replayed,
    (SELECT s.sealed_requests ->> %(key)s FROM {Participant._meta.db_table} s WHERE %(key)s <> ''
       AND s.auction_id = a.id AND s.user_id = %(user)s) AS replayed_sealed_amount
FROM {Auction._meta.db_table} a JOIN {Portfolio._meta.db_table} p ON p.id = a.portfolio_id
WHERE a.id = %(auction)s
"""  # noqa: S608 - only the models' table and column names are formatted in
    return Prepared("bid_context", sql, {**account_selectors.STANDING_TYPES, "auction": "bigint", "key": "text"})


def bid_context(*, user: User, auction_id: int, request_key: str = "") -> BidContext | None:
    """The bid path's unlocked read (None if there is no such auction). The deposit status is
    payments.selectors.deposit_status's answer (the latest deposit's), written here in SQL to share the trip."""
    params = {**account_selectors.standing_params(user_id=user.pk), "auction": auction_id, "key": request_key}
    with connection.cursor() as cursor:
        row = _bid_context().run(cursor, params).fetchone()
    if row is None:
        return None
    auction_columns = columns(Auction, "a")
    portfolio_columns = columns(Portfolio, "p", CONTEXT_PORTFOLIO)
    width, portfolio_width = len(auction_columns.names), len(portfolio_columns.names)
    auction = auction_columns.load(row[:width])
    auction.portfolio = portfolio_columns.load(row[width : width + portfolio_width])
    facts = row[width + portfolio_width :]
    standing = account_selectors.standing_from(facts[: account_selectors.STANDING_WIDTH])
    deposit_status, replayed, replayed_sealed_amount = facts[account_selectors.STANDING_WIDTH :]
    return BidContext(
        auction=auction,
        standing=standing,
        deposit_status=deposit_status,
        replayed_bid_id=replayed,
        replayed_sealed_amount=replayed_sealed_amount,
    )
