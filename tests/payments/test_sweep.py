"""The payments sweep finishes hand-offs that were lost: an auction closed or cancelled while the broker was down
still gets its settlement and its holds released, once, within a minute."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone
from kombu.exceptions import OperationalError

from auctions import services as auction_services
from auctions.models import Auction
from payments import services, tasks
from payments.models import Deposit, LedgerEntry, Settlement
from payments.services.sweep import SweepResult
from tests.payments.conftest import close_now

pytestmark = pytest.mark.django_db


def intent_statuses(stripe_api, deposits):
    return [
        stripe_api.v1.payment_intents.retrieve(Deposit.objects.get(pk=d.pk).payment_intent).status for d in deposits
    ]


def a_minute_later(auction):
    Auction.objects.filter(pk=auction.pk).update(closed_at=timezone.now() - timedelta(seconds=31))


def test_a_close_whose_settlement_task_was_lost_is_settled_by_the_sweep(
    sold, stripe_api, django_capture_on_commit_callbacks
):
    auction, (_alice, bob, _carol), deposits = sold
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(closes_at=now, ends_at=now)
    with django_capture_on_commit_callbacks(execute=False) as lost:  # the close commits; its tasks never run
        assert auction_services.auction_close(auction_id=auction.pk)
    assert lost and not Settlement.objects.exists()
    assert services.payments_sweep() == SweepResult()  # within 30 s the close's own task may still be on its way

    a_minute_later(auction)
    assert services.payments_sweep() == SweepResult(closings_finished=1)

    settlement = Settlement.objects.get()
    assert (settlement.buyer, settlement.status) == (bob, "awaiting_payment")
    assert intent_statuses(stripe_api, deposits) == ["canceled", "succeeded", "canceled"]
    assert list(Deposit.objects.order_by("pk").values_list("status", flat=True)) == ["released", "applied", "released"]
    assert not Deposit.objects.filter(stripe_done_at__isnull=True).exists()
    assert services.payments_sweep() == SweepResult()  # nothing left: idempotent
    assert Settlement.objects.count() == 1
    for key, total in LedgerEntry.objects.values_list("transaction").annotate(total=Sum("amount")):
        assert total == 0, key


def test_the_holds_of_an_auction_cancelled_while_the_broker_was_down_are_released_by_the_sweep(
    sold, stripe_api, make_user, django_capture_on_commit_callbacks
):
    auction, _buyers, deposits = sold
    staff = make_user("root@example.com", is_staff=True, is_superuser=True)
    with django_capture_on_commit_callbacks(execute=False):
        auction_services.auction_cancel(auction=auction, actor=staff, reason="The seller withdrew the tape.")
    assert intent_statuses(stripe_api, deposits) == ["requires_capture"] * 3
    a_minute_later(auction)

    assert services.payments_sweep() == SweepResult(cancellations_released=1)
    assert intent_statuses(stripe_api, deposits) == ["canceled"] * 3
    assert set(Deposit.objects.values_list("status", flat=True)) == {"released"}
    assert services.payments_sweep() == SweepResult()


def test_a_broker_outage_at_the_close_does_not_fail_the_close_and_the_sweep_settles_it(
    sold, monkeypatch, django_capture_on_commit_callbacks
):
    auction, (_alice, bob, _carol), _deposits = sold

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.settlement_open, "delay", unreachable)
    close_now(auction, django_capture_on_commit_callbacks)  # asserts the close succeeded, its callbacks ran
    assert Auction.objects.get(pk=auction.pk).status == "closed" and not Settlement.objects.exists()

    monkeypatch.undo()
    a_minute_later(auction)
    tasks.payments_sweep.delay()
    assert Settlement.objects.get().buyer == bob
    assert not Deposit.objects.filter(status__in=["pending", "held"]).exists()


def test_a_task_failure_at_the_close_still_surfaces(sold, monkeypatch, django_capture_on_commit_callbacks):
    """Only an unreachable broker is swallowed: the task's own errors (here eager, as in tests) still raise."""
    auction, _buyers, _deposits = sold

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the task")

    monkeypatch.setattr(tasks.settlement_open, "delay", broken)
    with pytest.raises(RuntimeError, match="bug"):
        close_now(auction, django_capture_on_commit_callbacks)
