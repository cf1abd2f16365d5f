"""Reconciliation compares our records with Stripe's objects and flags each difference once; staff resolve each
with a note (who and when are kept)."""

from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from payments import reconcile, services, tasks
from payments.models import Deposit, LedgerEntry, ReconciliationIssue, Settlement
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


def test_a_winners_hold_that_lapsed_is_retried_then_flagged(sold, stripe_api, django_capture_on_commit_callbacks):
    auction, _buyers, (d_alice, d_bob, d_carol) = sold
    stripe_api.v1.payment_intents.cancel(d_bob.payment_intent)  # as if the card authorization had expired
    with pytest.raises(Retry, match="deposit"):  # the task will try again
        close_now(auction, django_capture_on_commit_callbacks)
    done = dict(Deposit.objects.values_list("pk", "stripe_done_at"))
    assert done[d_alice.pk] and done[d_carol.pk] and done[d_bob.pk] is None  # the others were released anyway

    assert reconcile.ledger_reconcile() == 0  # not yet: the task is still retrying
    Deposit.objects.filter(pk=d_bob.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    reconcile.ledger_reconcile()
    assert list(ReconciliationIssue.objects.values_list("subject", flat=True)) == [f"deposit:{d_bob.pk}"]


def test_staff_resolve_a_difference_with_a_note(client, make_user):
    staff = make_user("root@example.com", is_staff=True, is_superuser=True)
    issue = ReconciliationIssue.objects.create(subject="deposit:1", message="held here, PaymentIntent canceled")
    client.force_login(staff)
    action = {"action": "mark_resolved_(note)", "_selected_action": [issue.pk], "apply": "1"}

    assert client.post("/admin/payments/reconciliationissue/", {**action, "reason": ""}).status_code == 200
    assert ReconciliationIssue.objects.get().resolved_at is None  # a note is required
    note = "Hold cancelled by the bank; buyer re-posted the deposit."
    assert client.post("/admin/payments/reconciliationissue/", {**action, "reason": note}).status_code == 302
    assert client.post("/admin/payments/reconciliationissue/", {**action, "reason": "later"}).status_code == 302

    issue.refresh_from_db()
    assert (issue.resolved_by, issue.resolution) == (staff, note) and issue.resolved_at is not None
    ReconciliationIssue.objects.create(subject="deposit:1", message="held here, PaymentIntent canceled")  # found again
