"""Bids: `bid_place` and `proxy_bid_set`, the only ways a bid enters the ledger, under the auction's row lock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.eligibility import buyer_eligibility_check
from accounts.models import User
from accounts.selectors import Standing
from auctions import broadcast, rules, selectors
from auctions.models import Auction, AuctionEvent, Bid, Participant
from auctions.selectors import iso
from auctions.services.base import (
    CHANGING,
    AuctionError,
    BidOutcome,
    _emit,
    _locked,
    _open_if_due,
    _require_open,
    _schedule,
    _send_now,
    _step,
    _tasks,
)
from marketplace import money, ratelimit


def _check_buyer(*, user: User, auction: Auction, stake: Decimal, standing: Standing) -> None:
    eligibility = buyer_eligibility_check(user=user, auction=auction, amount=stake, standing=standing)
    if eligibility.code is not None:
        raise AuctionError(eligibility.code, eligibility.message, http_status=403, action_url=eligibility.action_url)
    if (blocker := selectors.deposit_blocker(user=user, auction=auction)) is None:
        return
    if blocker.code == "deposit_required":
        amount = money.text(auction.deposit_amount)
        raise AuctionError(blocker.code, blocker.message, http_status=402, deposit_amount=amount)
    raise AuctionError(cast(str, blocker.code), blocker.message, http_status=403)


def _seats(auction: Auction, user: User) -> dict[int, Participant]:
    """The bidder's seat (created on their first bid, numbered in order of arrival) and every seat with a proxy
    maximum, by user id; under the auction's lock."""
    seats = {
        seat.user_id: seat
        for seat in Participant.objects.filter(auction=auction).filter(Q(user=user) | Q(proxy_max__isnull=False))
    }
    if user.pk not in seats:
        number = Participant.objects.filter(auction=auction).count() + 1
        seats[user.pk] = Participant.objects.create(auction=auction, user=user, number=number)
    return seats


def _replay(*, user: User, auction_id: int, request_key: str) -> BidOutcome | None:
    if not request_key:
        return None
    first = Bid.objects.filter(auction_id=auction_id, bidder=user, request_key=request_key).first()
    if first is None:
        return None
    return BidOutcome(auction=Auction.objects.get(pk=auction_id), bids=[first], replayed=True)


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


def _prepare(*, user: User, auction_id: int, amount: Decimal | None = None) -> tuple[Auction, Standing]:
    """Checks that need no lock, so refusals never queue behind it: a bid below the minimum of even a slightly
    old read is too low (the minimum only rises), so the many losers of a race fail here, cheaply. Then the
    buyer's standing; a retail buyer's own row is locked, so that their exposure across auctions is checked
    against a stable total (always user, then auction: no deadlock). Professional buyers have no cap to guard."""
    try:
        auction = Auction.objects.select_related("portfolio").get(pk=auction_id)
    except Auction.DoesNotExist:
        raise AuctionError("not_found", _("No such auction."), http_status=404) from None
    _require_open(auction, timezone.now())
    if amount is not None and not auction.is_sealed and amount < auction.min_next_bid:
        raise _rejection(rules.RejectedError("too_low"), auction)
    buyer = account_selectors.standing(user=user, seller_id=auction.portfolio.seller_id)
    if _capped(buyer):
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk").first()
    return auction, buyer


def _capped(buyer: Standing) -> bool:
    """Whether the buyer's open commitments are capped (retail buyers), so their bids must see a stable total."""
    return buyer.investor_class != "professional"


def bid_place(*, user: User, auction_id: int, amount: object, request_key: str = "") -> BidOutcome:
    """The only way a bid is accepted (REST, WebSocket and admin call it). Runs under the auction's row lock:
    status and clock, increment, eligibility and deposit, then the ledger entries, the price, soft close and
    the events, broadcast on commit. Replaying `request_key` returns the first outcome and changes nothing."""
    value = _parse(amount)
    if replayed := _replay(user=user, auction_id=auction_id, request_key=request_key):
        return replayed
    _rate_limit(user=user, auction_id=auction_id)
    with transaction.atomic():
        auction, buyer = _prepare(user=user, auction_id=auction_id, amount=value)
        stake = value
        if _capped(buyer):  # a standing maximum here counts in full against the cap
            proxy = Participant.objects.filter(auction=auction, user=user).values_list("proxy_max", flat=True).first()
            stake = max(value, proxy or value)
        _check_buyer(user=user, auction=auction, stake=stake, standing=buyer)
        locked, now, events = _lock_open(auction)
        if replayed := _replay(user=user, auction_id=auction_id, request_key=request_key):
            transaction.set_rollback(True)
            return replayed
        seats = _seats(locked, user)
        bids: list[Bid] = []
        if locked.is_sealed:
            _sealed_bid(locked, seats[user.pk], value, now)
        else:
            english = _english(locked, seats)
            try:
                placed = english.bid(user.pk, value, now)
            except rules.RejectedError as rejected:
                raise _rejection(rejected, locked) from None
            bids = _record(locked, english, placed, seats, now=now, request_key=request_key, events=events)
            events += _extend_if_late(locked, now)
        _save(locked, events)
    return BidOutcome(auction=locked, bids=bids)


def proxy_bid_set(*, user: User, auction_id: int, max_amount: object) -> BidOutcome:
    """Set (or raise) the buyer's maximum; the system bids the least needed to lead, up to it. Setting the same
    maximum again changes nothing."""
    value = _parse(max_amount, "max_amount")
    _rate_limit(user=user, auction_id=auction_id)
    with transaction.atomic():
        auction, buyer = _prepare(user=user, auction_id=auction_id)
        if auction.is_sealed:
            raise AuctionError("proxy_not_allowed", _("Sealed-bid auctions take one bid per buyer, not a maximum."))
        _check_buyer(user=user, auction=auction, stake=value, standing=buyer)
        locked, now, events = _lock_open(auction)
        seats = _seats(locked, user)
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
        bids = _record(locked, english, placed, seats, now=now, events=events)
        if bids:
            events += _extend_if_late(locked, now)
        _save(locked, events)
    return BidOutcome(auction=locked, bids=bids)


def _lock_open(auction: Auction) -> tuple[Auction, datetime, list[AuctionEvent]]:
    """Take the auction's row lock, open it if its start has come, and refuse unless the server clock says it is
    open; returns the locked row, the moment, and the events so far (an opening)."""
    locked = _locked(auction.pk)
    locked.portfolio = auction.portfolio
    now = timezone.now()
    events = _open_if_due(locked, now)
    _require_open(locked, now)
    return locked, now, events


def _save(auction: Auction, events: list[AuctionEvent]) -> None:
    AuctionEvent.objects.bulk_create(events)
    auction.save(update_fields=CHANGING)


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
    request_key: str = "",
) -> list[Bid]:
    """Append the placed bids to the ledger with their events and move the auction's price and leader."""
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
        events.append(_emit(auction, AuctionEvent.Kind.BID, payload, at=now))
        key = request_key if entry.kind == Bid.Kind.MANUAL else ""
        bids.append(
            Bid(
                auction=auction,
                seq=auction.seq,
                participant=seat,
                bidder_id=entry.bidder,
                amount=entry.amount,
                kind=entry.kind,
                placed_at=now,
                request_key=key,
            )
        )
    Bid.objects.bulk_create(bids)
    outbid = auction.leader_id
    auction.current_price, auction.leader_id, auction.leader_since = english.price, english.leader, now
    auction.min_next_bid = english.min_next_bid
    if outbid is not None and outbid != auction.leader_id:
        price = money.text(auction.current_price)
        broadcast.on_commit_to_user(outbid, {"type": "outbid", "auction": auction.pk, "current_price": price})
        transaction.on_commit(lambda: _send_now(_tasks().notify_outbid, outbid, auction.pk, price))
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
    return [_emit(auction, AuctionEvent.Kind.EXTENDED, {"closes_at": iso(closes_at)}, at=now)]


def _sealed_bid(auction: Auction, participant: Participant, amount: Decimal, now: datetime) -> None:
    """One hidden bid per buyer, which they may raise until the end; nothing is broadcast."""
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
    participant.save(update_fields=["sealed_amount", "sealed_at"])


# --- closing, cancelling, voiding ----------------------------------------------------------------------------
