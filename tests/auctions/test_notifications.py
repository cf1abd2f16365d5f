"""Watchlist and notifications: outbid (list always, e-mail at most every 15 minutes), won and lost, ending soon
for watchers who asked; the pages that show them."""

import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from auctions import broadcast, notifications, services
from auctions.models import Auction, Notification, Watch
from tests import processes

pytestmark = pytest.mark.django_db


def kinds(user):
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("kind", flat=True))


def test_outbid_is_listed_every_time_and_emailed_at_most_every_15_minutes(market, django_capture_on_commit_callbacks):
    auction = market.auction()
    alice, bob = market.buyer("alice", deposit_on=auction), market.buyer("bob", deposit_on=auction)
    with django_capture_on_commit_callbacks(execute=True):
        services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
        services.bid_place(user=bob, auction_id=auction.pk, amount="10100.00")
        services.bid_place(user=alice, auction_id=auction.pk, amount="10200.00")
        services.bid_place(user=bob, auction_id=auction.pk, amount="10300.00")
    assert kinds(alice) == kinds(bob) == []  # queued for a worker, off the bid path
    with django_capture_on_commit_callbacks(execute=True):  # the worker's e-mails
        assert notifications.outbid_queue_drain() == 3
    assert kinds(alice) == ["outbid", "outbid"] and kinds(bob) == ["outbid"]
    to_alice = [m for m in mail.outbox if m.to == [alice.email]]
    assert len(to_alice) == 1 and "10100.00 CNY" in to_alice[0].subject
    assert f"/auctions/{auction.pk}/" in to_alice[0].body


def test_queued_outbid_notices_of_a_gone_auction_are_dropped_and_a_failure_requeues_the_rest(market, monkeypatch):
    auction = market.auction()
    alice = market.buyer("alice", deposit_on=auction)
    client = broadcast.redis_client()
    gone = notifications.outbid_notice(user_id=alice.pk, auction_id=auction.pk + 1000, current_price="1.00")
    for notice in [gone] + [
        notifications.outbid_notice(user_id=alice.pk, auction_id=auction.pk, current_price=f"{price}.00")
        for price in (10100, 10200, 10300)
    ]:
        client.rpush(notice[0], json.dumps(notice[1]))
    real, failed = notifications.notify_outbid, []

    def fail_once_at_10200(**item):
        if item["current_price"] == "10200.00" and not failed:
            failed.append(item)
            raise OperationalError("the database went away")
        return real(**item)

    monkeypatch.setattr(notifications, "notify_outbid", fail_once_at_10200)
    with pytest.raises(OperationalError):
        notifications.outbid_queue_drain()
    queued = [json.loads(raw)["current_price"] for raw in client.lrange(notifications.outbid_queue(), 0, -1)]
    assert queued == ["10200.00", "10300.00"]  # the failed one first, in order; the gone auction's was dropped
    assert notifications.outbid_queue_drain() == 2
    prices = [n.message.rsplit(" ", 2)[-2] for n in Notification.objects.filter(user=alice).order_by("pk")]
    assert prices == ["10100.00", "10200.00", "10300.00"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_beat_lists_an_outbid_within_seconds_through_a_worker(live_server_url, market, tmp_path):
    auction = market.auction()
    alice, bob = market.buyer("alice", deposit_on=auction), market.buyer("bob", deposit_on=auction)
    services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    services.bid_place(user=bob, auction_id=auction.pk, amount="10100.00")  # committed: queued for the worker
    with processes.celery_beat(str(tmp_path)):
        deadline = time.monotonic() + 20
        while not Notification.objects.filter(user=alice, kind="outbid").exists():
            assert time.monotonic() < deadline, "no outbid notice listed 20 s after the bid"
            time.sleep(0.2)
    assert "10100.00 CNY" in Notification.objects.get(user=alice).message
    assert not Notification.objects.filter(user=bob).exists()
    assert broadcast.redis_client().llen(notifications.outbid_queue()) == 0


def test_the_close_tells_the_winner_and_every_other_bidder_once(market, django_capture_on_commit_callbacks):
    auction = market.auction()
    alice, bob = market.buyer("alice", deposit_on=auction), market.buyer("bob", deposit_on=auction)
    services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    services.bid_place(user=bob, auction_id=auction.pk, amount="10100.00")
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(closes_at=now, ends_at=now)
    with django_capture_on_commit_callbacks(execute=True):
        services.auction_close(auction_id=auction.pk)
    assert notifications.notify_results(auction_id=auction.pk) == 0  # already told
    assert Notification.objects.get(user=bob, kind="won").message.startswith("You won")
    assert Notification.objects.filter(user=alice, kind="lost").count() == 1


def test_won_and_lost_notices_lost_at_the_close_are_sent_by_the_sweep_once(market, django_capture_on_commit_callbacks):
    auction = market.auction()
    alice, bob = market.buyer("alice", deposit_on=auction), market.buyer("bob", deposit_on=auction)
    services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    services.bid_place(user=bob, auction_id=auction.pk, amount="10100.00")
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(closes_at=now, ends_at=now)
    with django_capture_on_commit_callbacks(execute=False):  # the close's tasks never reach a worker
        services.auction_close(auction_id=auction.pk)
    assert notifications.results_unsent() == 0  # within the grace: the close's own task may still come
    Auction.objects.filter(pk=auction.pk).update(closed_at=now - timedelta(minutes=1))
    assert notifications.results_unsent() == 2
    assert notifications.results_unsent() == 0  # told once
    assert Notification.objects.get(user=bob, kind="won") and Notification.objects.get(user=alice, kind="lost")


def test_watchers_who_asked_hear_before_the_end_once(market, make_user):
    auction = market.auction(ends_at=timezone.now() + timedelta(minutes=10))
    services.auction_open(auction_id=auction.pk)
    keen, quiet = make_user("keen@example.com"), make_user("quiet@example.com")
    notifications.watch_set(user=keen, auction=auction)
    notifications.watch_set(user=quiet, auction=auction, notify_ending_soon=False)
    far = market.auction(ends_at=timezone.now() + timedelta(hours=3))
    services.auction_open(auction_id=far.pk)
    notifications.watch_set(user=keen, auction=far)
    assert notifications.notify_ending_soon() == 1
    assert notifications.notify_ending_soon() == 0
    assert kinds(keen) == ["ending_soon"] and kinds(quiet) == []


def test_pages_watch_list_my_auctions_and_notifications(client, market):
    auction = market.auction()
    other = market.auction()
    buyer = market.buyer("buyer", deposit_on=other)
    services.bid_place(user=buyer, auction_id=other.pk, amount="10000.00")
    client.force_login(buyer)
    client.post(f"/auctions/{auction.pk}/watch/", {"ending_soon": "1"})
    assert Watch.objects.get(user=buyer, auction=auction).notify_ending_soon
    mine = client.get("/auctions/mine/").content.decode()
    assert f'data-auction="{auction.pk}"' in mine and f'data-auction="{other.pk}"' in mine
    notifications.notify_outbid(user_id=buyer.pk, auction_id=other.pk, current_price="12000.00")
    page = client.get("/auctions/notifications/").content.decode()
    assert "12000.00 CNY" in page and 'id="nav-notifications">Notifications <span class="badge">1</span>' in page
    client.post("/auctions/notifications/")
    assert 'class="badge">1<' not in client.get("/auctions/notifications/").content.decode()
    client.post(f"/auctions/{auction.pk}/watch/", {"watch": "off"})
    assert not Watch.objects.filter(user=buyer, auction=auction).exists()
