"""What every auction service shares: the domain error, the row lock, the event stream, task scheduling."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from auctions import broadcast, rules
from auctions.models import Auction, AuctionEvent, Bid
from auctions.selectors import Position, iso
from marketplace import money
from marketplace.errors import DomainError
from marketplace.sql import Prepared, columns

log = logging.getLogger(__name__)


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
    # The bidder's seat and deposit status as the bid saw them, and `auction` is its locked row as the bid left it
    # (with its leader's number): a response is made without reading again. None: read again (a replay).
    position: Position | None = None


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


@functools.cache
def _lock_statement(skip_locked: bool) -> Prepared:
    wait = " SKIP LOCKED" if skip_locked else ""
    table = Auction._meta.db_table
    sql = f'SELECT {columns(Auction, "a").sql} FROM {table} "a" WHERE "a"."id" = %s FOR NO KEY UPDATE'  # noqa: S608
    return Prepared("auction_lock", sql + wait, ["bigint"])


def _lock(auction_id: int, *, skip_locked: bool = False) -> Auction | None:
    """The auction's row lock (callers hold it until their transaction ends); None if skipped or missing. Prepared
    SQL: every bid takes it."""
    with connection.cursor() as cursor:
        row = _lock_statement(skip_locked).run(cursor, [auction_id]).fetchone()
    return None if row is None else columns(Auction, "a").load(row)


def _locked(auction_id: int) -> Auction:
    auction = _lock(auction_id)
    if auction is None:
        raise AuctionError("not_found", _("No such auction."), http_status=404)
    return auction


def _emit(auction: Auction, kind: str, payload: dict[str, Any], *, at: datetime) -> AuctionEvent:
    """Append the auction's next event (under its lock) and broadcast it once the transaction commits."""
    event = _event(auction, kind, payload, at=at)
    broadcast.on_commit(auction.pk, event.payload)
    return event


def _event(auction: Auction, kind: str, payload: dict[str, Any], *, at: datetime) -> AuctionEvent:
    """The auction's next event (under its lock); the caller saves it and broadcasts it on commit."""
    auction.seq += 1
    body = {"type": kind, "seq": auction.seq, **payload}
    return AuctionEvent(auction=auction, seq=auction.seq, kind=kind, payload=body, created_at=at)


def _open_if_due(auction: Auction, now: datetime, *, announce: bool = True) -> list[AuctionEvent]:
    """The opening event if the start has come (broadcast on commit unless the caller announces it itself)."""
    if auction.status == Auction.Status.SCHEDULED and auction.starts_at <= now:
        auction.status = Auction.Status.LIVE
        emit = _emit if announce else _event
        return [emit(auction, AuctionEvent.Kind.OPENED, {"closes_at": iso(auction.closes_at)}, at=now)]
    return []


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
