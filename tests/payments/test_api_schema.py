"""The OpenAPI document describes the money API's answers as the API gives them (payments/api/schema.py)."""

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from payments.api.views import offer_json
from payments.models import RunnerUpOffer, Settlement
from tests.openapi import answer, properties
from tests.payments.conftest import close_now

pytestmark = pytest.mark.django_db


def test_documented_shapes_are_the_shapes_answered(market, stripe_api, django_capture_on_commit_callbacks):
    auction = market.auction(starting_price="10000.00", deposit_amount="1000.00")
    bob = market.buyer("bob")
    client = APIClient()
    client.force_authenticate(bob)
    hold = client.post(f"/api/v1/auctions/{auction.pk}/deposit/", {"payment_method": "pm_card_visa"}, format="json")
    assert hold.status_code == 201 and set(hold.json()) == properties("DepositHold")
    deposits = client.get("/api/v1/me/deposits/").json()
    assert set(deposits) == properties("DepositPage") and set(deposits["results"][0]) == properties("Deposit")
    client.post(f"/api/v1/auctions/{auction.pk}/bids/", {"amount": "12000.00"}, format="json")
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get(auction=auction)
    [owed] = client.get("/api/v1/me/settlements/").json()["results"]
    assert set(owed) == properties("Settlement")
    seller = APIClient()
    seller.force_authenticate(market.trader)
    [sale] = seller.get("/api/v1/me/sales/").json()["results"]
    assert set(sale) == properties("Sale")
    pay = client.post(f"/api/v1/settlements/{settlement.pk}/pay/", {}, format="json")
    assert set(pay.json()) == properties("SettlementPay"), pay.json()
    offer = RunnerUpOffer(auction=auction, amount=Decimal("11000.00"), currency="CNY", expires_at=timezone.now())
    assert set(offer_json(offer)) == properties("Offer")


def test_each_money_endpoint_names_its_answer_and_its_errors():
    deposit = "/api/v1/auctions/{id}/deposit/"
    assert answer(deposit, "post", 201) == answer(deposit, "post", 200) == "DepositHold"
    assert answer(deposit, "post", 400) == "Error"
    assert answer("/api/v1/me/settlements/", "get", 200) == "SettlementPage"
    assert answer("/api/v1/offers/", "get", 200) == "OfferPage"
    assert answer("/api/v1/offers/{id}/accept/", "post", 200) == "Offer"
