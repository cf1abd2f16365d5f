"""What the money API answers, for the OpenAPI document only: the views build their bodies (deposit_json,
settlement_json, offer_json); tests/payments/test_api_schema.py holds the two equal."""

from typing import Any

from rest_framework import serializers

from marketplace.openapi import money, page_of
from payments.models import Deposit, RunnerUpOffer, Settlement


class PaymentMethodSerializer(serializers.Serializer[Any]):
    payment_method = serializers.CharField(
        required=False, help_text="A Stripe PaymentMethod id (pm_...) to confirm at once; leave out to get the intent."
    )


class DepositSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    auction = serializers.IntegerField()
    amount = money()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Deposit.Status.choices, help_text="`held` lets you bid.")
    failure_message = serializers.CharField(allow_null=True)
    held_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class _Confirmation(serializers.Serializer[Any]):
    """What the client confirms with Stripe.js when the card needs it (3-D Secure, or a card entered in the page)."""

    client_secret = serializers.CharField(allow_null=True)
    requires_action = serializers.BooleanField()
    publishable_key = serializers.CharField()
    stripe_js = serializers.CharField(help_text="Where this site serves Stripe.js from.")


class DepositHoldSerializer(DepositSerializer, _Confirmation):
    pass


class SettlementDocumentsSerializer(serializers.Serializer[Any]):
    bill_of_sale = serializers.CharField()
    transfer_notices = serializers.CharField()


class SettlementSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    auction = serializers.IntegerField()
    currency = serializers.CharField()
    hammer_price = money()
    buyer_premium = money()
    deposit_applied = money()
    balance_due = money()
    due_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Settlement.Status.choices)
    paid_at = serializers.DateTimeField(allow_null=True)
    documents = SettlementDocumentsSerializer(allow_null=True, help_text="Once paid.")


class SettlementPaySerializer(SettlementSerializer, _Confirmation):
    pass


class SaleSerializer(SettlementSerializer):
    portfolio = serializers.IntegerField()
    seller_commission = money()
    payout_amount = money()
    paid_out_at = serializers.DateTimeField(allow_null=True)
    forfeit_seller_amount = money(allow_null=True, help_text="The seller's share of a defaulted winner's deposit.")
    forfeit_paid_out_at = serializers.DateTimeField(allow_null=True)


class OfferSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    auction = serializers.IntegerField()
    title = serializers.CharField()
    amount = money(help_text="Your own last bid: the price you may buy at.")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=RunnerUpOffer.Status.choices)
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    settlement = SettlementSerializer(allow_null=True, help_text="Once accepted.")


DepositPageSerializer = page_of(DepositSerializer, "DepositPage")
SettlementPageSerializer = page_of(SettlementSerializer, "SettlementPage")
SalePageSerializer = page_of(SaleSerializer, "SalePage")
OfferPageSerializer = page_of(OfferSerializer, "OfferPage")
