"""What happens to the money records when an auction ends: the winner's deposit applied, the others released,
the settlement opened once; a cancellation releases every deposit."""

from decimal import Decimal

import pytest
from django.utils import timezone

from auctions import selectors, services
from auctions.models import Auction
from payments import services as payment_services
from payments.models import Deposit, Settlement

pytestmark = pytest.mark.django_db


def end_now(auction):
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(closes_at=now, ends_at=now)


def test_closing_applies_the_winners_deposit_releases_the_rest_and_opens_one_settlement(
    market, django_capture_on_commit_callbacks
):
    auction = market.auction(starting_price="10000.00")
    alice, bob = market.buyer("alice", deposit_on=auction), market.buyer("bob", deposit_on=auction)
    services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    services.bid_place(user=bob, auction_id=auction.pk, amount="12000.00")
    end_now(auction)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.auction_close(auction_id=auction.pk)
    statuses = dict(Deposit.objects.values_list("user__email", "status"))
    assert statuses == {"alice@buyers.example.com": "released", "bob@buyers.example.com": "applied"}
    settlement = Settlement.objects.get(auction=auction)
    assert (settlement.buyer, settlement.hammer_price, settlement.buyer_premium, settlement.balance_due) == (
        bob,
        Decimal("12000.00"),
        Decimal("240.00"),  # 2 % buyer's premium
        Decimal("11240.00"),  # the 1,000 deposit is applied
    )
    assert (settlement.seller_commission, settlement.payout_amount) == (Decimal("360.00"), Decimal("11640.00"))
    assert settlement.status == "awaiting_payment" and settlement.due_at > timezone.now()
    payment_services.settlement_open(auction_id=auction.pk)  # a second run changes nothing
    assert Settlement.objects.count() == 1 and Settlement.objects.get().balance_due == Decimal("11240.00")
    assert selectors.open_commitments(user=alice) == 0
    assert selectors.open_commitments(user=bob) == Decimal("12000.00")


def test_an_unsold_close_releases_everything_and_opens_no_settlement(market, django_capture_on_commit_callbacks):
    auction = market.auction(reserve_price="50000.00")
    alice = market.buyer("alice", deposit_on=auction)
    services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    end_now(auction)
    with django_capture_on_commit_callbacks(execute=True):
        services.auction_close(auction_id=auction.pk)
    assert list(Deposit.objects.values_list("status", flat=True)) == ["released"]
    assert not Settlement.objects.exists()


def test_cancelling_releases_every_deposit(market, make_user, django_capture_on_commit_callbacks):
    auction = market.auction()
    market.buyer("alice", deposit_on=auction)
    market.deposit(market.buyer("bob"), auction, status=Deposit.Status.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        services.auction_cancel(auction=auction, actor=make_user("staff@example.com", is_staff=True), reason="x")
    assert set(Deposit.objects.values_list("status", flat=True)) == {"released"}


def test_deposits_without_a_card_hold_settle_without_stripe(market, settings, django_capture_on_commit_callbacks):
    """Records made without Stripe (demo data, other apps' tests) close without a Stripe key configured."""
    settings.STRIPE_SECRET_KEY = ""
    auction = market.auction()
    alice = market.buyer("alice", deposit_on=auction)
    services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    end_now(auction)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.auction_close(auction_id=auction.pk)
    assert Deposit.objects.get().status == "applied" and Settlement.objects.exists()
