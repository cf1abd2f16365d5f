"""Every change to an auction: setup, bids under the row lock, opening, closing, cancelling, voiding."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.eligibility import buyer_eligibility_check
from accounts.models import User
from auctions import broadcast, notifications, rules
from auctions.models import MAX_DEPOSIT_SHARE, Auction, AuctionEvent, Bid, BidVoid, Participant
from auctions.selectors import iso
from marketplace import money, ratelimit
from marketplace.errors import DomainError
from payments import selectors as payment_selectors
from payments import tasks as payment_tasks
from portfolios import services as portfolio_services
from portfolios.models import Portfolio

log = logging.getLogger(__name__)
MAX_ROUND_DISCOUNT = Decimal("0.20")
# The auction columns a bid, an opening or a proxy may change (saved without rewriting the rest of the row).
CHANGING = ["status", "seq", "current_price", "leader", "leader_since", "min_next_bid", "bid_count", "closes_at"]
ETA_HORIZON = timedelta(hours=1)  # longer ETAs outlive the broker's visibility timeout; the sweep covers them


class AuctionError(DomainError):
    """A request the auction rules refuse."""


@dataclass
class BidOutcome:
    """What a bid request did: the ledger entries it caused (a proxy's answer included) and the auction after."""

    auction: Auction
    bids: list[Bid] = field(default_factory=list)
    replayed: bool = False


# --- setup -----------------------------------------------------------------------------------------------------


def _steps(table: Any) -> list[tuple[Decimal, Decimal]]:
    rows = []
    for row in table or []:
        threshold, step = (money.parse_amount(str(value)) if str(value) != "0" else Decimal(0) for value in row)
        if threshold is None or step is None:
            raise ValidationError({"increment_table": _('Each row is ["from price", "increment"] in money.')})
        rows.append((threshold, step))
    return sorted(rows)


def _step(auction: Auction) -> rules.Step:
    return partial(
        rules.min_next, start=auction.starting_price, fixed=auction.increment, table=_steps(auction.increment_table)
    )


def auction_create(*, user: User, portfolio: Portfolio, data: dict[str, Any]) -> Auction:
    """The seller's owners and traders put an approved (or unsold, for a new round) portfolio up for auction."""
    if not account_selectors.organizations_acted_for(user=user).filter(pk=portfolio.seller_id).exists():
        raise AuctionError(
            "not_seller_member", _("Only the seller's owners and traders can auction it."), http_status=403
        )
    if portfolio.status != Portfolio.Status.APPROVED:
        raise AuctionError("portfolio_not_approved", _("Only an approved portfolio can be auctioned."))
    return _create(user=user, portfolio=portfolio, data=data, round_number=1, previous=None)


def auction_relist(*, user: User, auction: Auction, data: dict[str, Any]) -> Auction:
    """The next round of an unsold auction, starting at most 20 % lower."""
    if not account_selectors.organizations_acted_for(user=user).filter(pk=auction.portfolio.seller_id).exists():
        raise AuctionError("not_seller_member", _("Only the seller's owners and traders can relist."), http_status=403)
    if auction.result != Auction.Result.UNSOLD or hasattr(auction, "next_round"):
        raise AuctionError("not_relistable", _("Only an unsold auction without a next round can be relisted."))
    floor = money.quantize(auction.starting_price * (1 - MAX_ROUND_DISCOUNT))
    start = money.parse_amount(data.get("starting_price"))
    if start is not None and start < floor:
        raise ValidationError({"starting_price": _("A new round may start at most 20%% lower: at least %s.") % floor})
    return _create(user=user, portfolio=auction.portfolio, data=data, round_number=auction.round + 1, previous=auction)


def _create(
    *, user: User, portfolio: Portfolio, data: dict[str, Any], round_number: int, previous: Auction | None
) -> Auction:
    errors: dict[str, str] = {}
    prices: dict[str, Decimal | None] = {}
    for name in ("starting_price", "reserve_price", "increment", "deposit_amount"):
        value = data.get(name)
        prices[name] = money.parse_amount(value) if value not in (None, "") else None
        if value not in (None, "") and prices[name] is None:
            errors[name] = _('Give an amount as a string such as "125000.00".')
    start = prices["starting_price"]
    if start is None:
        errors.setdefault("starting_price", _("Set a starting price."))
    starts_at, ends_at = data.get("starts_at"), data.get("ends_at")
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        errors["ends_at"] = _("Set when the auction starts and ends.")
    elif ends_at <= starts_at:
        errors["ends_at"] = _("The auction must end after it starts.")
    elif ends_at <= timezone.now():
        errors["ends_at"] = _("The end must be in the future.")
    if data.get("format", Auction.Format.ENGLISH) not in Auction.Format.values:
        errors["format"] = _("Choose english or sealed.")
    if start is not None:
        reserve = prices["reserve_price"] or start
        deposit = prices["deposit_amount"] or money.quantize(start * settings.AUCTION_DEFAULT_DEPOSIT_SHARE)
        if reserve < start:
            errors["reserve_price"] = _("The reserve cannot be below the starting price.")
        if not 0 < deposit <= start * MAX_DEPOSIT_SHARE:
            errors["deposit_amount"] = _("The deposit must be positive and at most 20% of the starting price.")
    table = data.get("increment_table") or []
    try:
        _steps(table)
    except ValidationError as error:
        errors.update({key: value[0] for key, value in error.message_dict.items()})
    windows = {}
    for name in ("soft_close_window", "soft_close_extension"):
        value = data.get(name, timedelta(minutes=5))
        if not isinstance(value, timedelta) or not timedelta(0) <= value <= timedelta(hours=1):
            errors[name] = _("Between 0 and 60 minutes.")
        windows[name] = value
    if errors or start is None or not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        raise ValidationError(errors)
    increment = prices["increment"] or money.quantize(max(start / 100, Decimal(1)))
    with transaction.atomic():
        locked = Portfolio.objects.select_for_update().get(pk=portfolio.pk)
        if locked.auctions.filter(status__in=Auction.OPEN).exists():
            raise AuctionError("portfolio_in_auction", _("This portfolio is already in an auction."))
        auction = Auction.objects.create(
            portfolio=locked,
            previous_round=previous,
            round=round_number,
            format=data.get("format", Auction.Format.ENGLISH),
            currency=locked.currency,
            starts_at=starts_at,
            ends_at=ends_at,
            closes_at=ends_at,
            starting_price=start,
            reserve_price=prices["reserve_price"] or start,
            increment=increment,
            increment_table=[[str(a), str(b)] for a, b in _steps(table)],
            deposit_amount=prices["deposit_amount"] or money.quantize(start * settings.AUCTION_DEFAULT_DEPOSIT_SHARE),
            min_next_bid=start,
            created_by=user,
            **windows,
        )
        auction.portfolio = portfolio_services.portfolio_transition(
            portfolio=locked, to=Portfolio.Status.IN_AUCTION, actor=user
        )
        _schedule(auction)
    return auction


def _tasks() -> Any:
    from auctions import tasks  # the Celery adapters import this module

    return tasks


def _schedule(auction: Auction) -> None:
    """Prompt ETA tasks for opening and closing (on commit); the beat sweep remains the guarantee."""
    tasks = _tasks()

    now = timezone.now()
    auction_id = auction.pk
    if auction.status == Auction.Status.SCHEDULED and auction.starts_at - now < ETA_HORIZON:
        starts_at = auction.starts_at
        transaction.on_commit(lambda: _send(tasks.auction_open, auction_id, starts_at))
    if auction.closes_at - now < ETA_HORIZON:
        closes_at = auction.closes_at
        transaction.on_commit(lambda: _send(tasks.auction_close, auction_id, closes_at))


def _send(task: Any, auction_id: int, eta: datetime) -> None:
    """Best effort: with the broker down the bid still stands, and the sweep opens or closes it on time."""
    try:
        task.apply_async((auction_id,), eta=eta)
    except Exception:  # kombu raises its own errors for an unreachable broker
        log.warning("%s for auction %s not scheduled; the sweep will do it", task.name, auction_id)


def _send_now(task: Any, *args: Any) -> None:
    """Best effort, after commit: a notification lost to a broker outage never undoes a bid."""
    try:
        task.delay(*args)
    except Exception:  # kombu raises its own errors for an unreachable broker
        log.warning("%s%s not queued: broker unreachable", task.name, args)


# --- the lock and the event stream ------------------------------------------------------------------------------


def _lock(auction_id: int, *, skip_locked: bool = False) -> Auction | None:
    """The auction's row lock (callers hold it until their transaction ends); None if skipped or missing."""
    return (
        Auction.objects.select_for_update(skip_locked=skip_locked, no_key=True, of=("self",))
        .filter(pk=auction_id)
        .first()
    )


def _locked(auction_id: int) -> Auction:
    auction = _lock(auction_id)
    if auction is None:
        raise AuctionError("not_found", _("No such auction."), http_status=404)
    return auction


def _emit(auction: Auction, kind: str, payload: dict[str, Any], *, at: datetime) -> AuctionEvent:
    """Append the auction's next event (under its lock) and broadcast it once the transaction commits."""
    auction.seq += 1
    body = {"type": kind, "seq": auction.seq, **payload}
    broadcast.on_commit(auction.pk, body)
    return AuctionEvent(auction=auction, seq=auction.seq, kind=kind, payload=body, created_at=at)


def _open_if_due(auction: Auction, now: datetime) -> list[AuctionEvent]:
    if auction.status == Auction.Status.SCHEDULED and auction.starts_at <= now:
        auction.status = Auction.Status.LIVE
        return [_emit(auction, AuctionEvent.Kind.OPENED, {"closes_at": iso(auction.closes_at)}, at=now)]
    return []


def auction_open(*, auction_id: int) -> bool:
    """Open a scheduled auction whose start has come. Idempotent: True only for the run that opened it."""
    with transaction.atomic():
        auction = _lock(auction_id)
        if auction is None:
            return False
        events = _open_if_due(auction, timezone.now())
        if events:
            AuctionEvent.objects.bulk_create(events)
            auction.save(update_fields=["status", "seq"])
    return bool(events)


# --- bidding --------------------------------------------------------------------------------------------------


def _require_open(auction: Auction, now: datetime) -> None:
    """The server clock decides: nothing after `closes_at`, even before the closing job has run."""
    if auction.status in (Auction.Status.CLOSED, Auction.Status.SETTLED, Auction.Status.DEFAULTED) or (
        auction.status in Auction.OPEN and now >= auction.closes_at
    ):
        raise AuctionError("auction_closed", _("This auction has closed."))
    if auction.status != Auction.Status.LIVE and not (
        auction.status == Auction.Status.SCHEDULED and auction.starts_at <= now
    ):
        raise AuctionError("auction_not_live", _("This auction is not open for bidding."))


def _check_buyer(*, user: User, auction: Auction, stake: Decimal) -> None:
    eligibility = buyer_eligibility_check(user=user, auction=auction, amount=stake)
    if eligibility.code is not None:
        raise AuctionError(eligibility.code, eligibility.message, http_status=403, action_url=eligibility.action_url)
    if payment_selectors.deposit_status(user=user, auction_id=auction.pk) != "held":
        raise AuctionError(
            "deposit_required",
            _("Post the deposit of %(amount)s %(currency)s to bid.")
            % {"amount": auction.deposit_amount, "currency": auction.currency},
            http_status=402,
            deposit_amount=money.text(auction.deposit_amount),
        )


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


def _prepare(*, user: User, auction_id: int, amount: Decimal | None = None) -> Auction:
    """Checks that need no lock, so refusals never queue behind it: a bid below the minimum of even a slightly
    old read is too low (the minimum only rises), so the many losers of a race fail here, cheaply. Then the
    buyer's own row is locked, so that their exposure across auctions is checked against a stable total (always
    user, then auction: no deadlock)."""
    try:
        auction = Auction.objects.select_related("portfolio").get(pk=auction_id)
    except Auction.DoesNotExist:
        raise AuctionError("not_found", _("No such auction."), http_status=404) from None
    _require_open(auction, timezone.now())
    if amount is not None and not auction.is_sealed and amount < auction.min_next_bid:
        raise _rejection(rules.RejectedError("too_low"), auction)
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk").first()
    return auction


def bid_place(*, user: User, auction_id: int, amount: object, request_key: str = "") -> BidOutcome:
    """The only way a bid is accepted (REST, WebSocket and admin call it). Runs under the auction's row lock:
    status and clock, increment, eligibility and deposit, then the ledger entries, the price, soft close and
    the events, broadcast on commit. Replaying `request_key` returns the first outcome and changes nothing."""
    value = _parse(amount)
    if replayed := _replay(user=user, auction_id=auction_id, request_key=request_key):
        return replayed
    _rate_limit(user=user, auction_id=auction_id)
    with transaction.atomic():
        auction = _prepare(user=user, auction_id=auction_id, amount=value)
        proxy = Participant.objects.filter(auction=auction, user=user).values_list("proxy_max", flat=True).first()
        _check_buyer(user=user, auction=auction, stake=max(value, proxy or value))
        locked = _locked(auction_id)
        locked.portfolio = auction.portfolio
        now = timezone.now()
        events = _open_if_due(locked, now)
        _require_open(locked, now)
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
        AuctionEvent.objects.bulk_create(events)
        locked.save(update_fields=CHANGING)
    return BidOutcome(auction=locked, bids=bids)


def proxy_bid_set(*, user: User, auction_id: int, max_amount: object) -> BidOutcome:
    """Set (or raise) the buyer's maximum; the system bids the least needed to lead, up to it. Setting the same
    maximum again changes nothing."""
    value = _parse(max_amount, "max_amount")
    _rate_limit(user=user, auction_id=auction_id)
    with transaction.atomic():
        auction = _prepare(user=user, auction_id=auction_id)
        if auction.is_sealed:
            raise AuctionError("proxy_not_allowed", _("Sealed-bid auctions take one bid per buyer, not a maximum."))
        _check_buyer(user=user, auction=auction, stake=value)
        locked = _locked(auction_id)
        locked.portfolio = auction.portfolio
        now = timezone.now()
        events = _open_if_due(locked, now)
        _require_open(locked, now)
        seats = _seats(locked, user)
        participant = seats[user.pk]
        if participant.proxy_max == value:
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
        AuctionEvent.objects.bulk_create(events)
        locked.save(update_fields=CHANGING)
    return BidOutcome(auction=locked, bids=bids)


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


def auction_close(*, auction_id: int, skip_locked: bool = False) -> bool:
    """Close an auction whose time has come. Idempotent under the row lock: True only for the run that closed it."""
    return _close(Auction.objects.filter(pk=auction_id), skip_locked=skip_locked) == 1


def auctions_close_due(*, limit: int = 200) -> int:
    """Close up to `limit` due auctions in one transaction, skipping rows another worker holds; returns how many."""
    due = Auction.objects.filter(status__in=Auction.OPEN, closes_at__lte=timezone.now()).order_by("closes_at", "pk")
    return _close(due, skip_locked=True, limit=limit)


def _close(auctions: QuerySet[Auction], *, skip_locked: bool, limit: int = 1) -> int:
    """Reveal sealed bids, decide sold (highest bid ≥ reserve) or unsold, emit `closed`, move the portfolios —
    for each locked auction still open past its time, all in one transaction."""
    with transaction.atomic():
        locked = list(auctions.select_for_update(skip_locked=skip_locked, of=("self",))[:limit])
        now = timezone.now()
        closing = [auction for auction in locked if auction.status in Auction.OPEN and now >= auction.closes_at]
        events: list[AuctionEvent] = []
        for auction in closing:
            events += _open_if_due(auction, now)
            if auction.is_sealed:
                events += _reveal(auction, now)
            sold = auction.current_price is not None and auction.current_price >= auction.reserve_price
            auction.status, auction.closed_at = Auction.Status.CLOSED, now
            auction.result = Auction.Result.SOLD if sold else Auction.Result.UNSOLD
            auction.final_price = auction.current_price if sold else None
            payload = {"result": auction.result, "final_price": money.text(auction.final_price)}
            events.append(_emit(auction, AuctionEvent.Kind.CLOSED, payload, at=now))
        AuctionEvent.objects.bulk_create(events)
        Auction.objects.bulk_update(closing, [*CHANGING, "result", "final_price", "closed_at"])
        for result, outcome in (
            (Auction.Result.SOLD, Portfolio.Status.SOLD),
            (Auction.Result.UNSOLD, Portfolio.Status.UNSOLD),
        ):
            lots = [auction.portfolio_id for auction in closing if auction.result == result]
            if lots:
                portfolio_services.portfolio_transition_many(portfolio_ids=lots, to=outcome)
        for auction in closing:  # payments take over once the close is committed; bidders hear the result
            payment_tasks.settlement_open.delay_on_commit(auction.pk)  # type: ignore[attr-defined]  # celery-types lags
            _tasks().notify_results.delay_on_commit(auction.pk)
    return len(closing)


def _reveal(auction: Auction, now: datetime) -> list[AuctionEvent]:
    """Put every sealed bid in the ledger, lowest first, so the last entry is the winner (ties: earlier wins)."""
    sealed = [
        (seat, cast(Decimal, seat.sealed_amount), cast(datetime, seat.sealed_at))
        for seat in Participant.objects.filter(auction=auction, sealed_amount__isnull=False)
    ]
    winner = rules.sealed_winner([(seat.user_id, amount, at) for seat, amount, at in sealed])
    sealed.sort(key=lambda row: (row[1], -row[2].timestamp()))
    events: list[AuctionEvent] = []
    bids = []
    for seat, amount, at in sealed:
        auction.bid_count += 1
        payload = {
            "amount": money.text(amount),
            "bidder": seat.alias,
            "kind": Bid.Kind.SEALED,
            "placed_at": iso(at),
            "current_price": money.text(amount),
            "min_next_bid": None,
            "bid_count": auction.bid_count,
            "closes_at": iso(auction.closes_at),
        }
        events.append(_emit(auction, AuctionEvent.Kind.BID, payload, at=now))
        bids.append(
            Bid(
                auction=auction,
                seq=auction.seq,
                participant=seat,
                bidder_id=seat.user_id,
                amount=amount,
                kind=Bid.Kind.SEALED,
                placed_at=at,
            )
        )
    Bid.objects.bulk_create(bids)
    if winner is not None:
        auction.leader_id, auction.current_price, auction.leader_since = winner[0], winner[1], now
    return events


def auction_cancel(*, auction: Auction, actor: User, reason: str) -> Auction:
    """Staff stop a scheduled or live auction; the portfolio is approved again (payments release deposits)."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the auction is cancelled.")})
    with transaction.atomic():
        locked = _locked(auction.pk)
        if locked.status not in Auction.OPEN:
            raise AuctionError("illegal_transition", _("Only a scheduled or live auction can be cancelled."))
        now = timezone.now()
        locked.status, locked.cancel_reason, locked.closed_at = Auction.Status.CANCELLED, reason, now
        event = _emit(locked, AuctionEvent.Kind.CANCELLED, {"reason": reason}, at=now)
        event.save()
        locked.save()
        portfolio_services.portfolio_transition(
            portfolio=locked.portfolio, to=Portfolio.Status.APPROVED, actor=actor, reason=reason
        )
        payment_tasks.deposits_release.delay_on_commit(locked.pk)  # type: ignore[attr-defined]
    return locked


def auction_settlement_recorded(*, auction_id: int, paid: bool) -> Auction:
    """Payments report the end of a sold auction: `settled` once the winner paid, `defaulted` if they did not.
    Idempotent; only a closed, sold auction moves."""
    target = Auction.Status.SETTLED if paid else Auction.Status.DEFAULTED
    with transaction.atomic():
        locked = _locked(auction_id)
        if locked.status == target:
            return locked
        if locked.status != Auction.Status.CLOSED or locked.result != Auction.Result.SOLD:
            raise AuctionError("illegal_transition", _("Only a closed, sold auction is settled or defaulted."))
        locked.status = target
        locked.save(update_fields=["status"])
    return locked


def bid_void(*, bid: Bid, actor: User, reason: str) -> Auction:
    """Staff void a bid of a live auction (a new event; the ledger row stays). The price and leader are recomputed
    from the remaining bids, and the bidder's proxy maximum is withdrawn."""
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the bid is voided.")})
    with transaction.atomic():
        locked = _locked(bid.auction_id)
        if locked.status != Auction.Status.LIVE:
            raise AuctionError("auction_not_live", _("Only bids of a live auction can be voided."))
        if BidVoid.objects.filter(bid=bid).exists():
            raise AuctionError("already_voided", _("This bid is already voided."))
        now = timezone.now()
        BidVoid.objects.create(bid=bid, voided_by=actor, reason=reason, voided_at=now)
        Participant.objects.filter(pk=bid.participant_id).update(proxy_max=None, proxy_set_at=None)
        best = locked.bids.filter(void__isnull=True).order_by("-amount", "seq").first()
        locked.current_price = best.amount if best else None
        locked.leader_id = best.bidder_id if best else None
        locked.leader_since = best.placed_at if best else None
        locked.bid_count -= 1
        locked.min_next_bid = _step(locked)(locked.current_price)
        payload = {
            "bid_seq": bid.seq,
            "reason": reason,
            "current_price": money.text(locked.current_price),
            "min_next_bid": money.text(locked.min_next_bid),
            "bid_count": locked.bid_count,
            "leader": best.participant.alias if best else None,
        }
        _emit(locked, AuctionEvent.Kind.VOIDED, payload, at=now).save()
        locked.save()
    return locked


def auctions_sweep() -> tuple[int, int]:
    """Open and close every due auction (skipping ones another worker holds); returns how many of each."""
    now = timezone.now()
    opening = Auction.objects.filter(status=Auction.Status.SCHEDULED, starts_at__lte=now, closes_at__gt=now)
    opened = sum(auction_open(auction_id=pk) for pk in opening.values_list("pk", flat=True)[:1000])
    closed = 0
    while done := auctions_close_due():
        closed += done
    notifications.notify_ending_soon()
    return opened, closed
