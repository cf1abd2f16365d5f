"""A winner who does not pay by the deadline defaults: the deposit is forfeited (split per settings, in the ledger),
and the defaulter cannot post a deposit on that portfolio again."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from auctions.models import Auction
from payments import ledger, services, tasks
from payments.models import Deposit, LedgerEntry, Settlement
from portfolios.models import Portfolio
from tests.payments.conftest import close_now
from tests.payments.test_deposits import THREE_D_SECURE, authenticate_3ds, card

pytestmark = pytest.mark.django_db


def test_an_unpaid_settlement_defaults_after_the_deadline_and_the_deposit_is_forfeited(
    sold,
    market,
    settings,
    client,
    django_capture_on_commit_callbacks,
):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    assert services.settlements_default_due() == 0
    with pytest.raises(services.PaymentError, match="deadline"):
        services.settlement_default(settlement_id=settlement.pk)

    Settlement.objects.filter(pk=settlement.pk).update(due_at=timezone.now() - timedelta(seconds=1))  # time passes
    settings.FORFEIT_SELLER_SHARE = Decimal("0.40")
    tasks.settlements_default_due.delay()
    tasks.settlements_default_due.delay()  # the next sweep finds nothing to do

    assert Settlement.objects.get().status == "defaulted"
    assert Auction.objects.get(pk=auction.pk).status == "defaulted"  # the engine hears it
    assert Deposit.objects.get(user=bob).status == "forfeited"
    for key, total in LedgerEntry.objects.values_list("transaction").annotate(total=Sum("amount")):
        assert total == 0, key
    assert ledger.balance(account=f"buyer:{bob.pk}", currency="CNY") == 0
    assert ledger.balance(account=f"seller:{market.seller.pk}", currency="CNY") == Decimal("-400.00")  # owed to them
    assert ledger.balance(account="revenue:forfeiture", currency="CNY") == Decimal("-600.00")
    assert ledger.balance(account="cash", currency="CNY") == Decimal("1000.00")
    assert LedgerEntry.objects.filter(kind="forfeiture").values("transaction").distinct().count() == 1
    with pytest.raises(services.PaymentError, match="defaulted"):
        services.settlement_mark_paid(settlement_id=settlement.pk)

    # The next round of the same portfolio (its relisting belongs to the auction engine) is closed to bob.
    Portfolio.objects.filter(pk=auction.portfolio_id).update(status=Portfolio.Status.APPROVED)
    next_round = market.auction(portfolio=Portfolio.objects.get(pk=auction.portfolio_id))
    client.force_login(bob)
    response = client.post(
        f"/api/v1/auctions/{next_round.pk}/deposit/",
        {"payment_method": "pm_card_visa"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "defaulted_buyer")


def test_a_paid_settlement_never_defaults(sold, django_capture_on_commit_callbacks):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    services.settlement_pay(user=bob, settlement_id=settlement.pk, payment_method="pm_card_visa")
    Settlement.objects.filter(pk=settlement.pk).update(due_at=timezone.now() - timedelta(days=1))
    assert services.settlements_default_due() == 0
    assert Settlement.objects.get().status == "paid"


def test_a_balance_paid_after_the_default_is_refunded(sold, stripe_api, stripe_env, django_capture_on_commit_callbacks):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    three_ds = card(stripe_api, THREE_D_SECURE)
    services.settlement_pay(user=bob, settlement_id=settlement.pk, payment_method=three_ds)
    Settlement.objects.filter(pk=settlement.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    services.settlements_default_due()
    secret = stripe_api.v1.payment_intents.retrieve(Settlement.objects.get().payment_intent).client_secret
    authenticate_3ds(stripe_env, secret)  # bob finishes 3-D Secure too late

    services.settlement_sync(settlement_id=settlement.pk)  # as the webhook would
    services.settlement_sync(settlement_id=settlement.pk)  # twice: one refund
    settlement.refresh_from_db()
    refunds = stripe_api.v1.refunds.list(params={"payment_intent": settlement.payment_intent}).data
    assert settlement.status == "defaulted" and settlement.refunded_at is not None
    assert [(refund.amount, refund.status) for refund in refunds] == [(1124000, "succeeded")]  # all of it, once
