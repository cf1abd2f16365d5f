"""Bids: `bid_place` and `proxy_bid_set`, the only ways a bid enters the ledger, under the auction's row lock."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.eligibility import buyer_eligibility_check
from accounts.models import User
from accounts.selectors import Standing
from auctions import broadcast, notifications, rules, selectors
from auctions.models import Auction, AuctionEvent, Bid, Participant
from auctions.selectors import BidContext, iso
from auctions.services.base import (
    CHANGING,
    AuctionError,
    BidOutcome,
    _event,
    _locked,
    _open_if_due,
    _require_open,
    _schedule,
    _step,
)
from marketplace import money, ratelimit
from marketplace.sql import Prepared, columns


def _check_buyer(*, user: User, context: BidContext, stake: Decimal) -> None:
    auction = context.auction
    eligibility = buyer_eligibility_check(user=user, auction=auction, amount=stake, standing=context.standing)
    if eligibility.code is not None:
        raise AuctionError(eligibility.code, eligibility.message, http_status=403, action_url=eligibility.action_url)
    if (blocker := selectors.deposit_blocker(user=user, auction=auction, context=context)) is None:
        return
    if blocker.code == "deposit_required":
        amount = money.text(auction.deposit_amount)
        raise AuctionError(blocker.code, blocker.message, http_status=402, deposit_amount=amount)
    raise AuctionError(cast(str, blocker.code), blocker.message, http_status=403)


@functools.cache
def _seats_statement() -> Prepared:
    seat = columns(Participant, "s")
    table = Participant._meta.db_table
    sql = f"""
SELECT {seat.sql}, last.number, replayed.id
FROM (SELECT COALESCE(max(number), 0) AS number FROM {table} WHERE auction_id = %(auction)s) last
LEFT JOIN (SELECT b.id FROM {Bid._meta.db_table} b WHERE %(key)s <> '' AND b.auction_id = %(auction)s
             AND b.bidder_id = %(user)s AND b.request_key = %(key)s ORDER BY b.seq LIMIT 1) replayed ON TRUE
LEFT JOIN {table} s ON s.auction_id = %(auction)s AND (s.user_id = %(user)s OR s.proxy_max IS NOT NULL)
"""  # noqa: S608 - only the models' table and column names are formatted in
    return Prepared("bid_seats", sql, {"auction": "bigint", "user": "bigint", "key": "text"})


def _seats(auction: Auction, user: User, request_key: str = "") -> tuple[dict[int, Participant], int | None]:
    """The bidder's seat (created on their first bid, numbered in order of arrival) and every seat with a proxy
    maximum, by user id; and the bid an earlier request with `request_key` placed (then nothing is created). Under
    the auction's lock, in one statement."""
    seat = columns(Participant, "s")
    width = len(seat.names)
    with connection.cursor() as cursor:
        rows = _seats_statement().run(cursor, {"auction": auction.pk, "user": user.pk, "key": request_key}).fetchall()
    last_number, replayed = rows[0][width:]
    if replayed is not None:
        return {}, replayed
    user_at = seat.names.index("user_id")
    seats = {row[user_at]: seat.load(row[:width]) for row in rows if row[0] is not None}
    if user.pk not in seats:
        seats[user.pk] = Participant.objects.create(auction=auction, user=user, number=last_number + 1)
    return seats, None


def _replayed(*, auction_id: int, amount: Decimal, bid_id: int | None, sealed_amount: str | None) -> BidOutcome:
    """What a repeated request returns: the bid the first one placed (none for a sealed bid, which is in no ledger
    until the close) and the auction as it is now. A key sent again with another amount is refused: that is a new
    bid under an old key (a form resubmitted after going back), not a repeat."""
    bids = [Bid.objects.get(pk=bid_id)] if bid_id is not None else []
    first = bids[0].amount if bids else Decimal(cast(str, sealed_amount))
    if first != amount:
        raise AuctionError(
            "idempotency_key_reused",
            _("This request was already sent with the amount %(amount)s. Send a new request to bid again.")
            % {"amount": money.text(first)},
        )
    return BidOutcome(auction=Auction.objects.get(pk=auction_id), bids=bids, replayed=True)


def _parse(amount: object, field_name: str = "amount") -> Decimal:
    parsed = money.parse_amount(amount)
    if parsed is None:
        raise AuctionError(
            "invalid_amount",
            _('Give the amount as a string of digits with at most two decimals, such as "125000.00".'),
            http_status=400,
            field=field_name,
        )
    return parsed


def _rate_limit(*, user: User, auction_id: int) -> None:
    window = timedelta(seconds=settings.BID_RATE_WINDOW_SECONDS)
    if not ratelimit.allow(f"bids:{auction_id}:{user.pk}", limit=settings.BID_RATE_LIMIT, window=window):
        raise AuctionError("rate_limited", _("Too many bids in a short time; wait a few seconds."), http_status=429)


def _context(*, user: User, auction_id: int, request_key: str = "") -> BidContext:
    """The unlocked read, before the transaction (it locks nothing)."""
    context = selectors.bid_context(user=user, auction_id=auction_id, request_key=request_key)
    if context is None:
        raise AuctionError("not_found", _("No such auction."), http_status=404)
    return context


def _precheck(context: BidContext, amount: Decimal | None = None) -> None:
    """Checks that need no lock, so refusals never queue behind it: a bid below the minimum of even a slightly old
    read is too low (the minimum only rises), so the many losers of a race fail here, cheaply."""
    auction = context.auction
    _require_open(auction, timezone.now())
    if amount is not None and not auction.is_sealed and amount < auction.min_next_bid:
        raise _rejection(rules.RejectedError("too_low"), auction)


def _lock_buyer(*, user: User, standing: Standing) -> None:
    """A retail buyer's own row is locked, so that their exposure across auctions is checked against a stable total
    (always user, then auction: no deadlock). Professional buyers have no cap to guard."""
    if _capped(standing):
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk").first()


def _capped(buyer: Standing) -> bool:
    """Whether the buyer's open commitments are capped (retail buyers), so their bids must see a stable total."""
    return buyer.investor_class != "professional"


def bid_place(*, user: User, auction_id: int, amount: object, request_key: str = "") -> BidOutcome:
    """The only way a bid is accepted (REST, WebSocket and admin call it). Runs under the auction's row lock:
    status and clock, increment, eligibility and deposit, then the ledger entries, the price, soft close and
    the events, broadcast on commit. Replaying `request_key` returns the first outcome and changes nothing."""
    value = _parse(amount)
    context = _context(user=user, auction_id=auction_id, request_key=request_key)
    if context.replayed_bid_id is not None or context.replayed_sealed_amount is not None:
        return _replayed(
            auction_id=auction_id,
            amount=value,
            bid_id=context.replayed_bid_id,
            sealed_amount=context.replayed_sealed_amount,
        )
    _rate_limit(user=user, auction_id=auction_id)
    _precheck(context, value)
    with transaction.atomic():
        _lock_buyer(user=user, standing=context.standing)
        stake = value
        if _capped(context.standing):  # a standing maximum here counts in full against the cap
            proxy = Participant.objects.filter(auction_id=auction_id, user=user).values_list("proxy_max", flat=True)
            stake = max(value, proxy.first() or value)
        _check_buyer(user=user, context=context, stake=stake)
        locked, now, events = _lock_open(context.auction)
        if not request_key and not locked.is_sealed and value < locked.min_next_bid:
            raise _rejection(rules.RejectedError("too_low"), locked)  # as before the lock, now on the fresh row
        seats, replayed = _seats(locked, user, request_key)
        sealed_amount = seats[user.pk].sealed_requests.get(request_key) if locked.is_sealed and seats else None
        if replayed is not None or sealed_amount is not None:
            outcome = _replayed(auction_id=auction_id, amount=value, bid_id=replayed, sealed_amount=sealed_amount)
            transaction.set_rollback(True)  # a replay changes nothing
            return outcome
        bids: list[Bid] = []
        notices = _Notices()
        if locked.is_sealed:
            _sealed_bid(locked, seats[user.pk], value, now, key=request_key)
        else:
            english = _english(locked, seats)
            try:
                placed = english.bid(user.pk, value, now)
            except rules.RejectedError as rejected:
                raise _rejection(rejected, locked) from None
            bids = _record(locked, english, placed, seats, now=now, events=events, notices=notices, key=request_key)
            events += _extend_if_late(locked, now)
        _save(locked, events, bids, notices)
    return _outcome(locked, bids, seats, user, context)


def _outcome(
    auction: Auction, bids: list[Bid], seats: dict[int, Participant], user: User, context: BidContext
) -> BidOutcome:
    """What a bid did, with what a response needs from it (see BidOutcome.position; the locked row already holds
    the read's portfolio, with its title)."""
    if (leader := seats.get(cast(int, auction.leader_id))) is not None:
        auction.leader_number = leader.number  # type: ignore[attr-defined]  # as selectors.auction_get annotates
    position = selectors.Position(seats.get(user.pk), context.deposit_status)
    return BidOutcome(auction=auction, bids=bids, position=position)


def proxy_bid_set(*, user: User, auction_id: int, max_amount: object) -> BidOutcome:
    """Set (or raise) the buyer's maximum; the system bids the least needed to lead, up to it. Setting the same
    maximum again changes nothing."""
    value = _parse(max_amount, "max_amount")
    _rate_limit(user=user, auction_id=auction_id)
    context = _context(user=user, auction_id=auction_id)
    _precheck(context)
    if context.auction.is_sealed:
        raise AuctionError("proxy_not_allowed", _("Sealed-bid auctions take one bid per buyer, not a maximum."))
    with transaction.atomic():
        _lock_buyer(user=user, standing=context.standing)
        _check_buyer(user=user, context=context, stake=value)
        locked, now, events = _lock_open(context.auction)
        seats = _seats(locked, user)[0]
        participant = seats[user.pk]
        if participant.proxy_max == value:
            _save(locked, events)  # an opening this request caused still counts
            return BidOutcome(auction=locked, replayed=True)
        english = _english(locked, seats, with_ledger=True)
        try:
            placed = english.set_maximum(user.pk, value, now)
        except rules.RejectedError as rejected:
            raise _rejection(rejected, locked) from None
        participant.proxy_max, participant.proxy_set_at = value, now
        participant.save(update_fields=["proxy_max", "proxy_set_at"])
        notices = _Notices()
        bids = _record(locked, english, placed, seats, now=now, events=events, notices=notices)
        if bids:
            events += _extend_if_late(locked, now)
        _save(locked, events, bids, notices)
    return _outcome(locked, bids, seats, user, context)


def _lock_open(auction: Auction) -> tuple[Auction, datetime, list[AuctionEvent]]:
    """Take the auction's row lock, open it if its start has come, and refuse unless the server clock says it is
    open; returns the locked row, the moment, and the events so far (an opening)."""
    locked = _locked(auction.pk)
    locked.portfolio = auction.portfolio
    now = timezone.now()
    events = _open_if_due(locked, now, announce=False)  # `_save` broadcasts it with the bid's events
    _require_open(locked, now)
    return locked, now, events


# A bid's writes in one statement: a data-modifying WITH runs every part (ledger entries, events, the auction's
# changed columns), in one round trip. Only the models' table and column names are formatted in.
SAVE_BIDS = "bids AS (INSERT INTO {table} (auction_id, seq, participant_id, bidder_id, amount, kind, placed_at, "
SAVE_BIDS += "request_key) VALUES {rows} RETURNING id, seq)"
SAVE_EVENTS = "events AS (INSERT INTO {table} (auction_id, seq, kind, payload, created_at) VALUES {rows} RETURNING 1)"
SAVE_AUCTION = "UPDATE {table} SET {changing} WHERE id = %s"


BID_TYPES = ["bigint", "bigint", "bigint", "bigint", "numeric", "text", "timestamptz", "text"]
EVENT_TYPES = ["bigint", "bigint", "text", "jsonb", "timestamptz"]


@functools.cache
def _save_statement(bids: int, events: int) -> Prepared:
    parts, types = [], []
    if bids:
        rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * bids)
        parts.append(SAVE_BIDS.format(table=Bid._meta.db_table, rows=rows))
        types += BID_TYPES * bids
    if events:
        rows = ", ".join(["(%s, %s, %s, %s, %s)"] * events)
        parts.append(SAVE_EVENTS.format(table=AuctionEvent._meta.db_table, rows=rows))
        types += EVENT_TYPES * events
    changing = ", ".join(f"{field.column} = %s" for field in _changing())
    update = SAVE_AUCTION.format(table=Auction._meta.db_table, changing=changing)
    types += [field.db_type(connection) or "text" for field in _changing()] + ["bigint"]
    if not bids:
        sql = f"WITH {', '.join(parts)} {update}" if parts else update
    else:
        sql = f"WITH {', '.join(parts)}, moved AS ({update} RETURNING 1) SELECT id, seq FROM bids ORDER BY seq"  # noqa: S608
    return Prepared(f"bid_save_{bids}_{events}", sql, types)


@functools.cache
def _changing() -> list[models.Field[Any, Any]]:
    """The auction's fields a bid may change, in the order of CHANGING."""
    fields = {field.name: field for field in Auction._meta.concrete_fields}
    return [fields[name] for name in CHANGING]


def _save(
    auction: Auction,
    events: list[AuctionEvent],
    bids: list[Bid] | None = None,
    notices: _Notices | None = None,
) -> None:
    """Write the ledger entries, the events and the auction in one statement (under its lock); broadcast the events
    and `notices` (personal messages), and queue the notices' work, in one round trip on commit."""
    bids = bids or []
    params: list[Any] = []
    for bid in bids:
        params += [auction.pk, bid.seq, bid.participant_id, bid.bidder_id, bid.amount, bid.kind]
        params += [bid.placed_at, bid.request_key]
    for event in events:
        params += [auction.pk, event.seq, event.kind, json.dumps(event.payload), event.created_at]
    params += [getattr(auction, field.attname) for field in _changing()] + [auction.pk]
    with connection.cursor() as cursor:
        _save_statement(len(bids), len(events)).run(cursor, params)
        if bids:
            ids = dict((seq, pk) for pk, seq in cursor.fetchall())
            for bid in bids:
                bid.pk = ids[bid.seq]
                bid._state.adding = False
    channel = broadcast.channel(auction.pk)
    notices = notices or _Notices()
    broadcast.on_commit_many([(channel, event.payload) for event in events] + notices.published, notices.queued)


@dataclass
class _Notices:
    """Personal messages of a bid, sent with its events on commit: `(channel, message)` pairs published to users'
    sockets, and `(list, item)` pairs queued for a worker (the outbid buyer's notification)."""

    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    queued: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _rejection(rejected: rules.RejectedError, auction: Auction) -> AuctionError:
    if rejected.code == "already_leading":
        return AuctionError("already_leading", _("You already lead; raise your proxy maximum instead."))
    return AuctionError(
        "too_low",
        _("The next bid must be at least %(amount)s %(currency)s.")
        % {"amount": auction.min_next_bid, "currency": auction.currency},
        min_next_bid=money.text(auction.min_next_bid),
    )


def _english(auction: Auction, seats: dict[int, Participant], *, with_ledger: bool = False) -> rules.English:
    """The rules' view of an English auction, loaded under its lock (each bidder's best bid only when asked: only
    a leader raising their maximum needs it)."""
    shown = {}
    if with_ledger:
        best = auction.bids.filter(void__isnull=True).values("bidder_id").annotate(best=Max("amount"))
        shown = {row["bidder_id"]: row["best"] for row in best}
    return rules.English(
        shown=shown,
        step=_step(auction),
        price=auction.current_price,
        leader=auction.leader_id,
        leader_since=auction.leader_since,
        maxima={
            seat.user_id: rules.Maximum(seat.proxy_max, cast(datetime, seat.proxy_set_at))
            for seat in seats.values()
            if seat.proxy_max is not None
        },
    )


def _record(
    auction: Auction,
    english: rules.English,
    placed: Iterable[rules.Placed],
    seats: dict[int, Participant],
    *,
    now: datetime,
    events: list[AuctionEvent],
    notices: _Notices,
    key: str = "",
) -> list[Bid]:
    """The placed bids for the ledger with their events (appended to `events`); moves the auction's price and leader
    and tells the outbid buyer (on their sockets, and on their list by a worker: both in `notices`)."""
    placed = list(placed)
    if not placed:
        return []
    bids = []
    for entry in placed:
        auction.bid_count += 1
        seat = seats[entry.bidder]
        payload = {
            "amount": money.text(entry.amount),
            "bidder": seat.alias,
            "kind": entry.kind,
            "placed_at": iso(now),
            "current_price": money.text(entry.amount),
            "min_next_bid": money.text(english.step(entry.amount)),
            "bid_count": auction.bid_count,
            "closes_at": iso(auction.closes_at),
        }
        events.append(_event(auction, AuctionEvent.Kind.BID, payload, at=now))
        bids.append(
            Bid(
                auction=auction,
                seq=auction.seq,
                participant=seat,
                bidder_id=entry.bidder,
                amount=entry.amount,
                kind=entry.kind,
                placed_at=now,
                request_key=key if entry.kind == Bid.Kind.MANUAL else "",
            )
        )
    outbid = auction.leader_id
    auction.current_price, auction.leader_id, auction.leader_since = english.price, english.leader, now
    auction.min_next_bid = english.min_next_bid
    if outbid is not None and outbid != auction.leader_id:
        price = cast(str, money.text(auction.current_price))  # the bid just set it
        notices.published.append(
            (broadcast.user_channel(outbid), {"type": "outbid", "auction": auction.pk, "current_price": price})
        )
        notices.queued.append(notifications.outbid_notice(user_id=outbid, auction_id=auction.pk, current_price=price))
    return bids


def _extend_if_late(auction: Auction, now: datetime) -> list[AuctionEvent]:
    closes_at = rules.soft_close(
        closes_at=auction.closes_at,
        now=now,
        window=auction.soft_close_window,
        extension=auction.soft_close_extension,
    )
    if closes_at is None:
        return []
    auction.closes_at = closes_at
    _schedule(auction)
    return [_event(auction, AuctionEvent.Kind.EXTENDED, {"closes_at": iso(closes_at)}, at=now)]


def _sealed_bid(auction: Auction, participant: Participant, amount: Decimal, now: datetime, *, key: str) -> None:
    """One hidden bid per buyer, which they may raise until the end; nothing is broadcast. The request's key is
    kept, so that repeating the request is recognised."""
    if amount < auction.starting_price:
        raise AuctionError(
            "too_low",
            _("Bid at least the starting price of %(amount)s.") % {"amount": auction.starting_price},
            min_next_bid=money.text(auction.starting_price),
        )
    if participant.sealed_amount is not None and amount <= participant.sealed_amount:
        raise AuctionError(
            "too_low",
            _("A sealed bid can only be raised: bid more than %(amount)s.") % {"amount": participant.sealed_amount},
            min_next_bid=money.text(participant.sealed_amount + Decimal("0.01")),
        )
    participant.sealed_amount, participant.sealed_at = amount, now
    if key:
        participant.sealed_requests[key] = money.text(amount)
    participant.save(update_fields=["sealed_amount", "sealed_at", "sealed_requests"])


# --- closing, cancelling, voiding ----------------------------------------------------------------------------
