"""Correct under any concurrency, on real PostgreSQL: many bidders on one lot, many closers on one auction."""

import itertools
import random
import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from auctions import services
from auctions.models import Auction, AuctionEvent, Bid

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(count: int, work: Callable[[int], None]) -> None:
    """Start `count` threads together; each closes its database connection when done, as a request would."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            start.wait()
            work(index)
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]


def test_32_bidders_100_bids_each_keep_the_ledger_consistent(market, settings):
    settings.BID_RATE_LIMIT = 1_000_000
    auction = market.auction(starting_price="1000.00", increment="10.00", soft_close_window=timedelta(0))
    bidders = [market.buyer(f"b{i}", deposit_on=auction) for i in range(32)]
    outcomes: list[tuple[str, Decimal | None]] = []

    def bid_100(index: int) -> None:
        rng = random.Random(index)  # noqa: S311 - test data, not secrets
        for _ in range(100):
            current = Auction.objects.get(pk=auction.pk).min_next_bid
            amount = current + Decimal(rng.choice([0, 0, 10, 20, 50]))
            try:
                services.bid_place(user=bidders[index], auction_id=auction.pk, amount=f"{amount:.2f}")
                outcomes.append(("accepted", amount))
            except services.AuctionError as error:
                assert error.code in ("too_low", "already_leading"), error.code
                outcomes.append((error.code, None))
            connections.close_all()

    run_threads(32, bid_100)
    auction.refresh_from_db()
    ledger = list(Bid.objects.filter(auction=auction).order_by("seq"))
    events = list(AuctionEvent.objects.filter(auction=auction).order_by("seq").values_list("seq", "kind", "payload"))
    assert len(outcomes) == 3200
    assert [seq for seq, _, _ in events] == list(range(1, auction.seq + 1)), "event seq has a gap"
    assert len(ledger) == sum(1 for outcome, _ in outcomes if outcome == "accepted") == auction.bid_count > 100
    amounts = [bid.amount for bid in ledger]
    assert all(a < b for a, b in itertools.pairwise(amounts)), "accepted amounts must strictly increase"
    for previous, bid in zip([None, *ledger], ledger, strict=False):
        minimum = Decimal("1000.00") if previous is None else previous.amount + Decimal("10.00")
        assert bid.amount >= minimum, f"bid #{bid.seq} below the minimum at its moment"
    assert auction.current_price == ledger[-1].amount == max(amounts)
    assert auction.leader_id == ledger[-1].bidder_id
    bid_events = [payload for _, kind, payload in events if kind == "bid"]
    assert [e["amount"] for e in bid_events] == [f"{a:.2f}" for a in amounts]


def test_one_request_sent_eight_times_at_once_places_one_bid(market, settings):
    """Twins that all pass the read before the lock: the first places the bid, the others find it under the lock
    and return it."""
    settings.BID_RATE_LIMIT = 1_000_000
    auction = market.auction(soft_close_window=timedelta(0))
    alice = market.buyer("alice", deposit_on=auction)
    outcomes: list[services.BidOutcome] = []

    def send(index: int) -> None:
        outcomes.append(services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00", request_key="twin"))

    run_threads(8, send)
    assert Bid.objects.filter(auction=auction).count() == 1
    assert {outcome.bids[0].pk for outcome in outcomes} == {Bid.objects.get(auction=auction).pk}
    assert sum(not outcome.replayed for outcome in outcomes) == 1


def test_one_sealed_bid_sent_eight_times_at_once_is_recorded_once(market, settings):
    """The same for a sealed bid, which has no ledger entry: the twins find its key on the seat under the lock
    (without that check, the second would be refused as not raising the bid)."""
    settings.BID_RATE_LIMIT = 1_000_000
    auction = market.auction(format="sealed", starting_price="5000.00")
    alice = market.buyer("alice", deposit_on=auction)
    outcomes: list[services.BidOutcome] = []

    def send(index: int) -> None:
        outcomes.append(services.bid_place(user=alice, auction_id=auction.pk, amount="6000.00", request_key="twin"))

    run_threads(8, send)
    seat = auction.participants.get(user=alice)
    assert (seat.sealed_amount, seat.sealed_requests) == (Decimal("6000.00"), {"twin": "6000.00"})
    assert len(outcomes) == 8 and sum(not outcome.replayed for outcome in outcomes) == 1


def test_four_closers_at_once_close_the_auction_once(market):
    auctions = [market.auction() for _ in range(5)]
    now = timezone.now()
    Auction.objects.update(closes_at=now, ends_at=now)
    results: list[bool] = []

    def close_all(index: int) -> None:
        for auction in auctions:
            results.append(services.auction_close(auction_id=auction.pk, skip_locked=index % 2 == 1))

    run_threads(4, close_all)
    assert results.count(True) == len(auctions)
    for auction in auctions:
        assert AuctionEvent.objects.filter(auction=auction, kind="closed").count() == 1
        assert Auction.objects.get(pk=auction.pk).status == Auction.Status.CLOSED
