"""After a default: who the runner-up is (voided bids do not count; sealed bids do), and the seller's share of the
forfeited deposit paid out exactly once (Connect transfer, or bank transfer confirmed by staff) and shown to them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auctions import selectors as auction_selectors
from auctions import services as auction_services
from auctions.models import Auction, Bid
from payments import ledger, services
from payments.models import PayoutAccount, Settlement
from portfolios.models import Portfolio
from tests.payments.conftest import close_now
from tests.payments.test_default import assert_ledger_balances, default_now
from tests.payments.test_settlement_money import connect_stand_in  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def test_the_runner_up_is_the_best_other_bid_that_was_not_voided(market, make_user):
    auction = market.auction(starting_price="10000.00")
    alice, carol, bob = (market.buyer(name, deposit_on=auction) for name in ("alice", "carol", "bob"))
    auction_services.bid_place(user=alice, auction_id=auction.pk, amount="10000.00")
    auction_services.bid_place(user=carol, auction_id=auction.pk, amount="11000.00")
    auction_services.bid_place(user=bob, auction_id=auction.pk, amount="12000.00")
    assert auction_selectors.runner_up(auction_id=auction.pk, exclude_user_id=bob.pk) == (carol.pk, Decimal("11000"))

    staff = make_user("root@example.com", is_staff=True)
    auction_services.bid_void(bid=Bid.objects.get(bidder=carol), actor=staff, reason="shill bidding")
    assert auction_selectors.runner_up(auction_id=auction.pk, exclude_user_id=bob.pk) == (alice.pk, Decimal("10000"))
    assert auction_selectors.runner_up(auction_id=auction.pk, exclude_user_id=alice.pk) == (bob.pk, Decimal("12000"))


def test_in_a_sealed_auction_the_runner_up_is_the_next_sealed_bid_the_earlier_of_equals(
    market, django_capture_on_commit_callbacks
):
    auction = market.auction(starting_price="10000.00", format="sealed")
    buyers = {name: market.buyer(name, deposit_on=auction) for name in ("alice", "carol", "bob", "dan")}
    for name, amount in (("alice", "11000.00"), ("carol", "11000.00"), ("bob", "12000.00"), ("dan", "10500.00")):
        auction_services.bid_place(user=buyers[name], auction_id=auction.pk, amount=amount)
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(closes_at=now, ends_at=now)
    with django_capture_on_commit_callbacks(execute=False):
        auction_services.auction_close(auction_id=auction.pk)
    assert Auction.objects.get(pk=auction.pk).leader == buyers["bob"]
    found = auction_selectors.runner_up(auction_id=auction.pk, exclude_user_id=buyers["bob"].pk)
    assert found == (buyers["alice"].pk, Decimal("11000"))


def test_a_connected_seller_gets_their_share_of_the_forfeited_deposit_by_one_transfer(
    sold,
    market,
    settings,
    connect_stand_in,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    auction, _buyers, _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    PayoutAccount.objects.create(organization=market.seller, stripe_account="acct_1JadeRiver")
    settings.FORFEIT_SELLER_SHARE = Decimal("0.40")
    settings.STRIPE_API_BASE, requests = connect_stand_in
    settlement = Settlement.objects.get()

    default_now(settlement, django_capture_on_commit_callbacks)  # the payout task runs once the default commits
    services.settlement_forfeit_payout(settlement_id=settlement.pk)  # again: nothing more is sent
    Settlement.objects.filter(pk=settlement.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    services.payments_sweep()

    assert len(requests) == 1
    sent = requests[0]
    assert sent["path"] == "/v1/transfers"
    assert sent["form"]["amount"] == ["40000"]  # 40 % of the 1,000 deposit, in fen
    assert sent["form"]["destination"] == ["acct_1JadeRiver"]
    assert sent["headers"]["Idempotency-Key"] == f"settlement-{settlement.pk}-forfeit-payout"
    settlement.refresh_from_db()
    assert (settlement.forfeit_seller_amount, settlement.forfeit_payout_transfer) == (Decimal("400.00"), "tr_1StandIn")
    assert settlement.forfeit_paid_out_at is not None
    assert ledger.balance(account=f"seller:{market.seller.pk}", currency="CNY") == 0  # owed, then paid
    assert ledger.balance(account="cash", currency="CNY") == Decimal("600.00")
    assert_ledger_balances()


def test_staff_confirm_the_forfeiture_payout_by_bank_and_the_seller_sees_it(
    sold, market, client, make_user, django_capture_on_commit_callbacks
):
    auction, _buyers, _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    default_now(settlement, django_capture_on_commit_callbacks)
    client.force_login(market.trader)
    page = client.get("/payments/").content.decode()
    assert "Compensation from the forfeited deposit: 500.00 CNY" in page and "to be paid out" in page
    [sale] = client.get("/api/v1/me/sales/").json()["results"]
    assert (sale["forfeit_seller_amount"], sale["forfeit_paid_out_at"]) == ("500.00", None)

    client.force_login(make_user("root@example.com", is_staff=True, is_superuser=True))
    action = {
        "action": "confirm_forfeiture_payout_sent_by_bank_(reference)",
        "_selected_action": [settlement.pk],
        "apply": "1",
    }
    assert client.post("/admin/payments/settlement/", {**action, "reason": ""}).status_code == 200  # asks for it
    assert Settlement.objects.get().forfeit_paid_out_at is None
    assert client.post("/admin/payments/settlement/", {**action, "reason": "ICBC-FF-1"}).status_code == 302
    assert client.post("/admin/payments/settlement/", {**action, "reason": "ICBC-FF-2"}).status_code == 302  # again
    settlement.refresh_from_db()
    assert settlement.forfeit_payout_reference == "ICBC-FF-1" and settlement.forfeit_paid_out_at is not None
    assert ledger.balance(account=f"seller:{market.seller.pk}", currency="CNY") == 0
    assert_ledger_balances()

    client.force_login(market.trader)
    shown = client.get("/payments/").content.decode().split("Compensation", 1)[1]
    assert "to be paid out" not in shown and f"paid out {timezone.now():%Y-%m-%d}" in shown


def test_a_paid_lot_never_goes_back_to_the_seller(sold, django_capture_on_commit_callbacks):
    """Defence in depth: whatever asks, a lot whose settlement is paid stays sold."""
    from payments.services.offers import _lot_return

    auction, _buyers, _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    services.settlement_mark_paid(settlement_id=settlement.pk)
    _lot_return(auction=auction, reason="a bug")
    assert Portfolio.objects.get(pk=auction.portfolio_id).status == "sold"
