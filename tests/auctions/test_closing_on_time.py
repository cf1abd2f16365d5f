"""Closing on time with the real machinery: a Celery worker, the beat sweep and prompt ETA tasks."""

import statistics
import time
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from auctions.models import Auction, AuctionEvent
from tests import processes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_200_auctions_close_within_2_s_of_their_time_exactly_once(live_server_url, market, tmp_path, capsys):
    current_app.conf.task_always_eager = False  # send the ETA tasks to the worker, as the site does
    try:
        first = timezone.now() + timedelta(seconds=8)
        auctions = [
            market.auction(starts_at=timezone.now(), ends_at=first + timedelta(milliseconds=60 * i)) for i in range(200)
        ]
    finally:
        current_app.conf.task_always_eager = True
    sleeper = market.auction(starts_at=timezone.now(), ends_at=timezone.now() + timedelta(hours=2))
    with processes.celery_beat(str(tmp_path)):
        deadline = time.monotonic() + 60
        while Auction.objects.filter(pk__in=[a.pk for a in auctions], status=Auction.Status.LIVE).exists() or (
            Auction.objects.filter(pk__in=[a.pk for a in auctions], status=Auction.Status.SCHEDULED).exists()
        ):
            assert time.monotonic() < deadline, "auctions still open a minute after their end"
            time.sleep(0.5)
    closed = Auction.objects.filter(pk__in=[a.pk for a in auctions])
    lags = sorted((a.closed_at - a.closes_at).total_seconds() for a in closed)
    p50, p99 = statistics.median(lags), lags[int(len(lags) * 0.99) - 1]
    with capsys.disabled():
        print(
            f"\nclose lag over {len(lags)} auctions: p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms"
        )
    assert all(lag >= 0 for lag in lags), "closed before its time"
    assert p99 < 2.0
    assert AuctionEvent.objects.filter(auction__in=closed, kind="closed").count() == 200
    assert {a.result for a in closed} == {"unsold"} and {a.portfolio.status for a in closed} == {"unsold"}
    assert Auction.objects.get(pk=sleeper.pk).status == Auction.Status.LIVE  # open, far from its end
