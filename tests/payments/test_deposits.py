"""Deposits are real card holds on (local) Stripe: held lets the buyer bid, a declined card leaves none, 3-D Secure
finishes on the buyer's return, and only eligible buyers inside the deposit window may post one."""

import json
import urllib.request
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from auctions import selectors as auction_selectors
from payments import services
from payments.models import Deposit

pytestmark = pytest.mark.django_db

THREE_D_SECURE = "4000002500003155"


def card(stripe_api, number):
    return stripe_api.v1.payment_methods.create(
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    ).id


def authenticate_3ds(stripe_env, client_secret, success=True):
    """What Stripe.js (localstripe's stand-in) does when the buyer completes the 3-D Secure challenge."""
    intent = client_secret.split("_secret_")[0]
    url = f"{stripe_env['STRIPE_API_BASE']}/v1/payment_intents/{intent}/_authenticate?success={str(success).lower()}"
    body = json.dumps({"key": stripe_env["STRIPE_PUBLISHABLE_KEY"], "client_secret": client_secret}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST")) as response:
        return json.load(response)


def test_a_card_deposit_is_held_on_stripe_and_opens_bidding(market, client, stripe_api):
    auction = market.auction(deposit_amount="1500.00")
    buyer = market.buyer("alice")
    client.force_login(buyer)
    assert auction_selectors.bid_blocker(user=buyer, auction=auction).code == "deposit_required"

    response = client.post(
        f"/api/v1/auctions/{auction.pk}/deposit/", {"payment_method": "pm_card_visa"}, content_type="application/json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["amount"], body["currency"]) == ("held", "1500.00", auction.currency)
    assert body["publishable_key"].startswith("pk_test_")
    deposit = Deposit.objects.get()
    intent = stripe_api.v1.payment_intents.retrieve(deposit.payment_intent)
    assert (intent.status, intent.amount, intent.capture_method) == ("requires_capture", 150000, "manual")
    assert intent.metadata["deposit"] == str(deposit.pk)
    assert auction_selectors.bid_blocker(user=buyer, auction=auction) is None

    again = client.post(f"/api/v1/auctions/{auction.pk}/deposit/", {}, content_type="application/json")
    assert again.json()["id"] == deposit.pk and Deposit.objects.count() == 1  # repeating changes nothing

    mine = client.get("/api/v1/me/deposits/").json()
    assert [(row["auction"], row["status"]) for row in mine["results"]] == [(auction.pk, "held")]


def test_a_declined_card_leaves_no_deposit_and_says_why(market, client):
    auction = market.auction()
    buyer = market.buyer("bob")
    client.force_login(buyer)
    response = client.post(
        f"/api/v1/auctions/{auction.pk}/deposit/",
        {"payment_method": "pm_card_chargeCustomerFail"},
        content_type="application/json",
    )
    assert response.status_code == 402
    assert response.json()["code"] == "card_declined" and "declined" in response.json()["message"]
    assert Deposit.objects.get().status == "failed"
    assert auction_selectors.bid_blocker(user=buyer, auction=auction).code == "deposit_required"

    retry = client.post(
        f"/api/v1/auctions/{auction.pk}/deposit/", {"payment_method": "pm_card_visa"}, content_type="application/json"
    )
    assert retry.status_code == 201 and retry.json()["status"] == "held"  # another card, a new attempt


def test_three_d_secure_needs_the_buyers_action_then_the_deposit_is_held(market, client, stripe_api, stripe_env):
    auction = market.auction()
    buyer = market.buyer("carol")
    client.force_login(buyer)
    response = client.post(
        f"/api/v1/auctions/{auction.pk}/deposit/",
        {"payment_method": card(stripe_api, THREE_D_SECURE)},
        content_type="application/json",
    )
    body = response.json()
    assert (response.status_code, body["status"], body["requires_action"]) == (200, "pending", True)
    assert body["client_secret"].startswith(Deposit.objects.get().payment_intent)

    assert authenticate_3ds(stripe_env, body["client_secret"])["status"] == "requires_capture"
    back = client.post(f"/api/v1/auctions/{auction.pk}/deposit/", {}, content_type="application/json")
    assert (back.status_code, back.json()["status"], back.json()["client_secret"]) == (201, "held", None)


def test_failed_3ds_authentication_fails_the_deposit(market, stripe_api, stripe_env):
    auction = market.auction()
    buyer = market.buyer("dan")
    deposit = services.deposit_hold(user=buyer, auction_id=auction.pk, payment_method=card(stripe_api, THREE_D_SECURE))
    secret, _action = services.deposit_client_secret(deposit=deposit)
    authenticate_3ds(stripe_env, secret, success=False)
    assert services.deposit_sync(deposit_id=deposit.pk).status == "failed"


def test_deposits_open_only_close_to_the_end_so_a_hold_never_lapses(market, client, settings):
    """A card authorization lapses after about 7 days; the hold is captured at the close, so a deposit may only be
    posted within DEPOSIT_WINDOW_DAYS of the auction's end."""
    settings.DEPOSIT_WINDOW_DAYS = 6
    now = timezone.now()
    far = market.auction(ends_at=now + timedelta(days=6, hours=1))
    near = market.auction(ends_at=now + timedelta(days=5, hours=23))
    client.force_login(market.buyer("erin"))
    body = {"payment_method": "pm_card_visa"}
    refused = client.post(f"/api/v1/auctions/{far.pk}/deposit/", body, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["code"] == "deposit_window_not_open"
    assert not Deposit.objects.filter(auction=far).exists()
    assert client.post(f"/api/v1/auctions/{near.pk}/deposit/", body, content_type="application/json").status_code == 201


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kyc": None}, "kyc_required"),
        ({"investor": "retail", "net_worth": "5000.00"}, "exposure_limit"),  # cap 500 < the 1,000 deposit
    ],
)
def test_only_an_eligible_buyer_may_post_a_deposit(market, client, kwargs, code):
    auction = market.auction(deposit_amount="1000.00")
    client.force_login(market.buyer("frank", **kwargs))
    response = client.post(
        f"/api/v1/auctions/{auction.pk}/deposit/", {"payment_method": "pm_card_visa"}, content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (403, code)
    assert not Deposit.objects.exists()


def test_a_retail_buyers_held_deposit_counts_toward_exposure(market):
    auction = market.auction(deposit_amount="1000.00")
    buyer = market.buyer("gina", investor="retail", net_worth="1000000.00")
    services.deposit_hold(user=buyer, auction_id=auction.pk, payment_method="pm_card_visa")
    assert auction_selectors.open_commitments(user=buyer) == Decimal("1000.00")


def test_no_deposit_on_an_unknown_auction_or_anonymously(client, market):
    assert client.post("/api/v1/auctions/999999/deposit/", {}, content_type="application/json").status_code in (
        401,
        403,
    )
    client.force_login(market.buyer("hal"))
    assert client.post("/api/v1/auctions/999999/deposit/", {}, content_type="application/json").status_code == 404


def test_the_same_idempotency_key_returns_the_first_result(market, client):
    auction = market.auction()
    client.force_login(market.buyer("ivy"))
    url, declined = f"/api/v1/auctions/{auction.pk}/deposit/", {"payment_method": "pm_card_chargeCustomerFail"}
    first = client.post(url, declined, content_type="application/json", headers={"Idempotency-Key": "k-1"})
    again = client.post(url, declined, content_type="application/json", headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (402, 402) and again.json()["code"] == "card_declined"
    assert Deposit.objects.count() == 1  # the repeat made no new attempt
    visa = {"payment_method": "pm_card_visa"}
    held = client.post(url, visa, content_type="application/json", headers={"Idempotency-Key": "k-2"})
    repeat = client.post(url, visa, content_type="application/json", headers={"Idempotency-Key": "k-2"})
    assert held.json()["id"] == repeat.json()["id"] and repeat.json()["status"] == "held"
    assert Deposit.objects.count() == 2
