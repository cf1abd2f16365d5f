"""Staff refund a captured card payment or deposit from the admin, with a reason: one Stripe refund (keyed by our
refund's id), one balanced ledger transaction, however often the action is repeated."""

import pytest
from django.db.models import Sum

from payments import ledger, services
from payments.models import Deposit, LedgerEntry, Refund, Settlement
from tests.payments.conftest import close_now
from tests.payments.test_default import default_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, make_user):
    staff = make_user("root@example.com", is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.staff = staff
    return client


def refunds_on_stripe(stripe_api, payment_intent):
    return [(r.amount, r.status) for r in stripe_api.v1.refunds.list(params={"payment_intent": payment_intent}).data]


def test_staff_refund_a_card_payment_once_with_a_reason(
    sold, staff_client, stripe_api, django_capture_on_commit_callbacks
):
    auction, (_alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    services.settlement_pay(user=bob, settlement_id=settlement.pk, payment_method="pm_card_visa")
    settlement.refresh_from_db()
    action = {"action": "refund_the_card_payment_(reason)", "_selected_action": [settlement.pk], "apply": "1"}

    assert staff_client.post("/admin/payments/settlement/", {**action, "reason": ""}).status_code == 200
    assert not Refund.objects.exists()
    for _ in range(2):  # a double click
        response = staff_client.post("/admin/payments/settlement/", {**action, "reason": "Sale annulled by court"})
        assert response.status_code == 302

    refund = Refund.objects.get()
    assert (refund.amount, refund.buyer, refund.actor, refund.reason) == (
        settlement.balance_due,
        bob,
        staff_client.staff,
        "Sale annulled by court",
    )
    assert refund.stripe_refund.startswith("re_") and refund.refunded_at is not None
    assert refunds_on_stripe(stripe_api, settlement.payment_intent) == [(1124000, "succeeded")]
    legs = dict(LedgerEntry.objects.filter(transaction=f"refund-{refund.pk}").values_list("account", "amount"))
    assert legs == {"cash": -settlement.balance_due, f"buyer:{bob.pk}": settlement.balance_due}
    for key, total in LedgerEntry.objects.values_list("transaction").annotate(total=Sum("amount")):
        assert total == 0, key


def test_staff_refund_a_forfeited_deposit_but_not_a_released_one(
    sold, staff_client, stripe_api, django_capture_on_commit_callbacks
):
    auction, (alice, bob, _carol), _deposits = sold
    close_now(auction, django_capture_on_commit_callbacks)
    default_now(Settlement.objects.get(), django_capture_on_commit_callbacks)
    forfeited, released = Deposit.objects.get(user=bob), Deposit.objects.get(user=alice)
    action = {"action": "refund_the_captured_deposit_(reason)", "apply": "1", "reason": "Hospitalised, waived"}

    staff_client.post("/admin/payments/deposit/", {**action, "_selected_action": [released.pk]})
    assert not Refund.objects.exists()  # nothing was captured
    staff_client.post("/admin/payments/deposit/", {**action, "_selected_action": [forfeited.pk]})
    services.payment_refund(deposit_id=forfeited.pk, actor=staff_client.staff, reason="again")  # returns the first

    refund = Refund.objects.get()
    assert (refund.deposit, refund.amount, refund.reason) == (forfeited, forfeited.amount, "Hospitalised, waived")
    assert refunds_on_stripe(stripe_api, forfeited.payment_intent) == [(100000, "succeeded")]
    assert ledger.balance(account="cash", currency="CNY") == 0  # the forfeited 1,000 went back
