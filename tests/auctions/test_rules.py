"""The pure auction rules: increments, soft close, and proxy bidding against a simple reference model."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from auctions import rules

D = Decimal
TABLE = ((D(0), D(10)), (D(1000), D(50)), (D(5000), D(100)))
START = D(100)
step = partial(rules.min_next, start=START, fixed=D(10), table=TABLE)


def test_increment_follows_the_table_and_the_fixed_step_otherwise() -> None:
    assert rules.increment(D(999), fixed=D(5), table=TABLE) == D(10)
    assert rules.increment(D(1000), fixed=D(5), table=TABLE) == D(50)
    assert rules.increment(D(7000), fixed=D(5), table=TABLE) == D(100)
    assert rules.increment(D(7000), fixed=D(5)) == D(5)
    assert step(None) == START and step(D(1000)) == D(1050)


def test_soft_close_extends_only_inside_the_window() -> None:
    close = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    five = timedelta(minutes=5)
    assert rules.soft_close(closes_at=close, now=close - timedelta(minutes=6), window=five, extension=five) is None
    assert rules.soft_close(closes_at=close, now=close - timedelta(minutes=1), window=five, extension=five) == (
        close + timedelta(minutes=4)
    )
    assert (
        rules.soft_close(closes_at=close, now=close - timedelta(minutes=1), window=timedelta(0), extension=five) is None
    )


def test_a_manual_bid_below_a_proxy_maximum_is_answered_in_the_same_call() -> None:
    auction = rules.English(step=step)
    assert auction.set_maximum(1, D(500), 1) == [rules.Placed(1, D(100), "proxy")]
    placed = auction.bid(2, D(200), 2)
    assert placed == [rules.Placed(2, D(200), "manual"), rules.Placed(1, D(210), "proxy")]
    assert (auction.leader, auction.price, auction.min_next_bid) == (1, D(210), D(220))


def test_equal_maxima_go_to_the_earlier_one() -> None:
    auction = rules.English(step=step)
    auction.set_maximum(1, D(300), 1)
    auction.set_maximum(2, D(300), 2)
    assert (auction.leader, auction.price) == (1, D(300))


def test_the_leader_may_not_bid_against_themselves_and_a_maximum_only_rises() -> None:
    auction = rules.English(step=step)
    auction.bid(1, D(100), 1)
    for attempt in (lambda: auction.bid(1, D(200), 2), lambda: auction.bid(2, D(105), 2)):
        try:
            attempt()
        except rules.RejectedError as rejected:
            assert rejected.code in ("already_leading", "too_low")
        else:
            raise AssertionError("accepted")
    auction.set_maximum(1, D(400), 3)
    try:
        auction.set_maximum(1, D(300), 4)
    except rules.RejectedError as rejected:
        assert rejected.code == "too_low"


def reference(actions: list[tuple[str, int, Decimal]]) -> tuple[int | None, Decimal | None]:
    """Winner and price by the second-price rule, from scratch: each bidder's best maximum (a manual bid is a
    maximum) in order; the highest maximum wins (ties: the earliest); the price is the least that beats everyone
    else's maximum, capped by the winner's own, and never below the winner's own highest manual bid."""
    best: dict[int, tuple[Decimal, int]] = {}
    manual: dict[int, Decimal] = {}
    for at, (kind, bidder, amount) in enumerate(actions):
        if bidder not in best or amount > best[bidder][0]:
            best[bidder] = (amount, at)
        if kind == "bid":
            manual[bidder] = max(amount, manual.get(bidder, D(0)))
    if not best:
        return None, None
    winner = min(best, key=lambda b: (-best[b][0], best[b][1]))
    others = [best[b][0] for b in best if b != winner]
    floor = min(best[winner][0], step(max(others))) if others else START
    return winner, max(manual.get(winner, D(0)), floor)


amounts = st.integers(min_value=80, max_value=8000).map(D)
actions = st.lists(st.tuples(st.sampled_from(["bid", "max"]), st.integers(1, 4), amounts), max_size=25)


@settings(max_examples=600, deadline=None)
@given(actions)
def test_proxy_bidding_matches_the_reference_model(attempts: list[tuple[str, int, Decimal]]) -> None:
    auction = rules.English(step=step)
    accepted: list[tuple[str, int, Decimal]] = []
    ledger: list[rules.Placed] = []
    for at, (kind, bidder, amount) in enumerate(attempts):
        minimum, leading, price = auction.min_next_bid, auction.leader, auction.price
        try:
            placed = auction.bid(bidder, amount, at) if kind == "bid" else auction.set_maximum(bidder, amount, at)
        except rules.RejectedError:
            if kind == "bid":
                assert bidder == leading or amount < minimum
            continue
        if kind == "bid":
            assert bidder != leading and amount >= minimum
        accepted.append((kind, bidder, amount))
        ledger += placed
        assert all(p.amount > (price or 0) for p in placed)
        assert (auction.leader, auction.price) == reference(accepted)
    assert all(a.amount <= b.amount for a, b in itertools.pairwise(ledger))
    if ledger:
        assert (ledger[-1].bidder, ledger[-1].amount) == (auction.leader, auction.price)
