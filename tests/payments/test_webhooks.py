"""/stripe/webhook/: only signed events count; each is stored by id and processed once; any order of delivery
ends in the state Stripe holds (processing re-reads the PaymentIntent)."""

import pytest

from payments import services
from payments.models import Deposit, WebhookEvent
from tests.payments.test_deposits import THREE_D_SECURE, authenticate_3ds, card

pytestmark = pytest.mark.django_db


def event(event_id, kind, intent):
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": intent.to_dict()}}


@pytest.fixture
def pending_3ds(market, stripe_api, stripe_env):
    """A deposit waiting for 3-D Secure, which the buyer then completes without coming back to our site."""
    auction = market.auction()
    deposit = services.deposit_hold(
        user=market.buyer("alice"), auction_id=auction.pk, payment_method=card(stripe_api, THREE_D_SECURE)
    )
    assert deposit.status == "pending"
    stale = stripe_api.v1.payment_intents.retrieve(deposit.payment_intent)
    secret, _action = services.deposit_client_secret(deposit=deposit)
    authenticate_3ds(stripe_env, secret)
    return deposit, stale


def test_a_bad_signature_is_refused_and_changes_nothing(pending_3ds, deliver):
    _deposit, stale = pending_3ds
    response = deliver(event("evt_bad", "payment_intent.amount_capturable_updated", stale), secret="whsec_wrong")
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
    assert not WebhookEvent.objects.exists()
    assert Deposit.objects.get().status == "pending"


def test_an_unsigned_request_is_refused(client):
    response = client.post("/stripe/webhook/", data=b"{}", content_type="application/json")
    assert response.status_code == 400 and not WebhookEvent.objects.exists()


def test_the_same_event_three_times_is_processed_once(pending_3ds, deliver):
    _deposit, stale = pending_3ds
    first = deliver(event("evt_1", "payment_intent.amount_capturable_updated", stale))
    assert first.status_code == 200
    processed_at = WebhookEvent.objects.get().processed_at
    assert processed_at is not None and Deposit.objects.get().status == "held"
    for _ in range(2):
        assert deliver(event("evt_1", "payment_intent.amount_capturable_updated", stale)).status_code == 200
    assert WebhookEvent.objects.count() == 1 and WebhookEvent.objects.get().processed_at == processed_at


def test_events_out_of_order_end_in_stripes_state(pending_3ds, deliver, stripe_api):
    deposit, stale = pending_3ds
    fresh = stripe_api.v1.payment_intents.retrieve(deposit.payment_intent)
    deliver(event("evt_new", "payment_intent.amount_capturable_updated", fresh))
    deliver(event("evt_old", "payment_intent.requires_action", stale))  # older news arrives last
    assert Deposit.objects.get().status == "held"
    assert set(WebhookEvent.objects.values_list("id", flat=True)) == {"evt_new", "evt_old"}


def test_other_event_types_are_stored_and_ignored(deliver):
    response = deliver({"id": "evt_cust", "object": "event", "type": "customer.created", "data": {"object": {}}})
    assert response.status_code == 200
    assert WebhookEvent.objects.get().processed_at is not None
