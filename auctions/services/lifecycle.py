"""An auction's life after setup: opening, closing on time (the sweep and ETA tasks), cancelling, voiding a bid,
and the settlement's outcome reported by payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from auctions import notifications, rules
from auctions.models import Auction, AuctionEvent, Bid, BidVoid, Participant
from auctions.selectors import iso
from auctions.services.base import (
    CHANGING,
    AuctionError,
    _emit,
    _lock,
    _locked,
    _open_if_due,
    _send_now,
    _step,
    _tasks,
)
from marketplace import money
from payments import tasks as payment_tasks
from portfolios import services as portfolio_services
from portfolios.models import Portfolio


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
            payment_tasks.queue_on_commit(payment_tasks.settlement_open, auction.pk)  # payments' sweep backs it
            transaction.on_commit(partial(_send_now, _tasks().notify_results, auction.pk))
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
        payment_tasks.queue_on_commit(payment_tasks.deposits_release, locked.pk)  # payments' sweep backs it
    return locked


def auction_settlement_recorded(*, auction_id: int, paid: bool) -> Auction:
    """Payments report the end of a sold auction: `settled` once the winner paid, `defaulted` if they did not; a
    defaulted auction becomes `settled` when the runner-up it was offered to pays. Idempotent; only a closed, sold
    auction (or a defaulted one, to settled) moves."""
    target = Auction.Status.SETTLED if paid else Auction.Status.DEFAULTED
    with transaction.atomic():
        locked = _locked(auction_id)
        if locked.status == target:
            return locked
        runner_up_paid = paid and locked.status == Auction.Status.DEFAULTED
        if not runner_up_paid and (locked.status != Auction.Status.CLOSED or locked.result != Auction.Result.SOLD):
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
