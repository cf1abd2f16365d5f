"""Reconciliation compares our records with Stripe's objects and flags each difference once."""

import pytest

from payments import reconcile, services, tasks
from payments.models import LedgerEntry, ReconciliationIssue, Settlement
from tests.payments.conftest import close_now

pytestmark = pytest.mark.django_db


def test_a_settled_auction_reconciles_and_an_out_of_band_change_is_flagged_once(
    sold, market, stripe_api, django_capture_on_commit_callbacks
):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    services.settlement_pay(user=bob, settlement_id=Settlement.objects.get().pk, payment_method="pm_card_visa")
    other = market.auction()
    hold = services.deposit_hold(user=market.buyer("dora"), auction_id=other.pk, payment_method="pm_card_visa")
    assert reconcile.ledger_reconcile() == 0

    stripe_api.v1.payment_intents.cancel(hold.payment_intent)  # someone cancels the hold in Stripe's dashboard
    LedgerEntry.objects.filter(kind="payment", account="cash").update(amount=1)  # and a ledger row is corrupted
    tasks.ledger_reconcile.delay()
    tasks.ledger_reconcile.delay()

    issues = sorted(ReconciliationIssue.objects.values_list("subject", "message"))
    settlement = Settlement.objects.get()
    assert issues == [
        (f"deposit:{hold.pk}", "held here, PaymentIntent canceled (expected requires_capture)"),
        (f"ledger:settlement-{settlement.pk}-payment", "legs sum to -11239.00"),
    ]
