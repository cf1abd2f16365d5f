"""Pure auction rules, no I/O: increments, the next minimum bid, soft close and proxy bidding."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, cast

Step = Callable[[Decimal | None], Decimal]


class Order(Protocol):
    """When something happened: a timestamp in the service, an integer in tests."""

    def __lt__(self, other: Any, /) -> bool: ...


def increment(price: Decimal, *, fixed: Decimal, table: Sequence[tuple[Decimal, Decimal]] = ()) -> Decimal:
    """The increment at `price`: the table's row with the highest threshold not above it, else the fixed one."""
    step = fixed
    for threshold, row_increment in sorted(table):
        if price >= threshold:
            step = row_increment
    return step


def min_next(
    price: Decimal | None, *, start: Decimal, fixed: Decimal, table: Sequence[tuple[Decimal, Decimal]] = ()
) -> Decimal:
    """The least acceptable next bid: the starting price before any bid, then the price plus its increment."""
    return start if price is None else price + increment(price, fixed=fixed, table=table)


def soft_close(*, closes_at: datetime, now: datetime, window: timedelta, extension: timedelta) -> datetime | None:
    """The new closing time when a bid lands inside the soft-close window, else None."""
    if window and closes_at - now <= window and now + extension > closes_at:
        return now + extension
    return None


@dataclass(frozen=True)
class Maximum:
    amount: Decimal
    since: Order


@dataclass(frozen=True)
class Placed:
    """A bid the rules place in the ledger: a buyer's manual bid or a proxy's bid on someone's behalf."""

    bidder: int
    amount: Decimal
    kind: str  # "manual" | "proxy"


@dataclass(frozen=True)
class Standing:
    bidder: int
    price: Decimal
    maximum: Maximum


class RejectedError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class English:
    """An open ascending auction with proxy bidding (the second-price rule of a proxy: the least needed to lead).

    `maxima` are the proxies' maximum amounts; a bidder's manual bid counts as their maximum while it leads. Equal
    maxima go to the one set earlier. `bid` and `set_maximum` return the ledger entries they cause, in order.
    """

    step: Step
    price: Decimal | None = None
    leader: int | None = None
    leader_since: Order | None = None
    maxima: dict[int, Maximum] = field(default_factory=dict)
    shown: dict[int, Decimal] = field(default_factory=dict)  # each bidder's highest bid in the ledger

    @property
    def min_next_bid(self) -> Decimal:
        return self.step(self.price)

    def bid(self, bidder: int, amount: Decimal, at: Order) -> list[Placed]:
        if bidder == self.leader:
            raise RejectedError("already_leading")
        if amount < self.min_next_bid:
            raise RejectedError("too_low")
        placed = [Placed(bidder, amount, "manual")]
        self._lead(placed[0], at)
        return placed + self._respond(at)

    def set_maximum(self, bidder: int, amount: Decimal, at: Order) -> list[Placed]:
        previous = self.maxima.get(bidder)
        if previous is not None and amount <= previous.amount:
            raise RejectedError("too_low")
        if bidder == self.leader and self.price is not None:
            if amount <= self.price:
                raise RejectedError("too_low")
        elif amount < self.min_next_bid:
            raise RejectedError("too_low")
        self.maxima[bidder] = Maximum(amount, at)
        rival = self._runner_up()
        if bidder == self.leader and rival is not None and self.price is not None:
            # A tie won on time leaves the price at the rival's maximum: a higher maximum now pays the increment.
            target = min(amount, self.step(rival))
            if target > self.price:
                self._lead(Placed(bidder, target, "proxy"), at)
                return [Placed(bidder, target, "proxy")]
        return self._respond(at)

    def _runner_up(self) -> Decimal | None:
        """The best maximum anyone but the leader has shown (a bid in the ledger or a proxy maximum)."""
        rivals = [amount for bidder, amount in self.shown.items() if bidder != self.leader]
        rivals += [maximum.amount for bidder, maximum in self.maxima.items() if bidder != self.leader]
        return max(rivals, default=None)

    def _standing(self) -> Standing | None:
        """Who leads, at what price, defended by which maximum: their proxy while it covers the price, else the
        price they bid."""
        if self.leader is None or self.price is None:
            return None
        proxy = self.maxima.get(self.leader)
        if proxy is not None and proxy.amount >= self.price:
            return Standing(self.leader, self.price, proxy)
        return Standing(self.leader, self.price, Maximum(self.price, cast(Order, self.leader_since)))

    def _lead(self, placed: Placed, at: Order) -> None:
        self.price, self.leader, self.leader_since = placed.amount, placed.bidder, at
        self.shown[placed.bidder] = max(placed.amount, self.shown.get(placed.bidder, placed.amount))

    def _respond(self, at: Order) -> list[Placed]:
        """Let proxies answer until nobody can take or defend the lead any further."""
        placed: list[Placed] = []
        while True:
            standing = self._standing()
            challenger = self._challenger(standing)
            if challenger is None:
                return placed
            bidder, challenge = challenger
            if standing is None:  # the first bid: the best proxy opens at the starting price
                entries = [Placed(bidder, self.min_next_bid, "proxy")]
            elif _beats(challenge, standing.maximum):
                defence = standing.maximum.amount
                target = min(challenge.amount, self.step(defence))
                defended = standing.price < defence < target
                entries = [Placed(standing.bidder, defence, "proxy")] if defended else []
                entries.append(Placed(bidder, target, "proxy"))
            else:
                answer = min(standing.maximum.amount, self.step(challenge.amount))
                tried = [Placed(bidder, challenge.amount, "proxy")] if challenge.amount < answer else []
                entries = [*tried, Placed(standing.bidder, answer, "proxy")]
            for entry in entries:
                self._lead(entry, at)
            placed += entries

    def _challenger(self, standing: Standing | None) -> tuple[int, Maximum] | None:
        """The strongest proxy of someone else that could still move the price or take the lead."""
        best: tuple[int, Maximum] | None = None
        for bidder, maximum in self.maxima.items():
            if bidder == self.leader:
                continue
            if standing is None:
                able = maximum.amount >= self.min_next_bid
            else:
                able = maximum.amount > standing.price or (
                    maximum.amount == standing.price and _beats(maximum, standing.maximum)
                )
            if able and (best is None or _beats(maximum, best[1])):
                best = (bidder, maximum)
        return best


def _beats(a: Maximum, b: Maximum) -> bool:
    return a.amount > b.amount or (a.amount == b.amount and a.since < b.since)


def sealed_winner(bids: Sequence[tuple[int, Decimal, Order]]) -> tuple[int, Decimal] | None:
    """First-price sealed bid: the highest amount wins, equal amounts go to the earlier bid."""
    if not bids:
        return None
    bidder, amount, _ = min(bids, key=lambda b: (-b[1], b[2]))
    return bidder, amount
