"""REST endpoints for money: post a deposit, pay a settlement's balance, list your deposits, settlements and sales,
and accept or decline a runner-up offer."""

from typing import Any, cast

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import membership_list
from auctions.models import Auction
from auctions.selectors import iso
from marketplace.errors import DomainError
from marketplace.money import text
from marketplace.openapi import ERRORS
from payments import selectors, services, stripe_client
from payments.api import schema
from payments.models import Deposit, RunnerUpOffer, Settlement

PAYMENT_METHOD_LENGTH = 64
IDEMPOTENCY_KEY_LENGTH = 64


def _payment_method(request: Request) -> str:
    if not isinstance(request.data, dict):
        raise DomainError("invalid", "Send a JSON object.", http_status=400)
    value = request.data.get("payment_method", "")
    if not isinstance(value, str) or len(value) > PAYMENT_METHOD_LENGTH:
        raise DomainError("invalid", "payment_method is a Stripe id (pm_...).", http_status=400, field="payment_method")
    return value


def deposit_json(deposit: Deposit) -> dict[str, Any]:
    return {
        "id": deposit.pk,
        "auction": deposit.auction_id,
        "amount": text(deposit.amount),
        "currency": deposit.currency,
        "status": deposit.status,
        "failure_message": deposit.failure_message or None,
        "held_at": iso(deposit.held_at),
        "created_at": iso(deposit.created_at),
    }


def settlement_json(settlement: Settlement) -> dict[str, Any]:
    return {
        "id": settlement.pk,
        "auction": settlement.auction_id,
        "currency": settlement.currency,
        "hammer_price": text(settlement.hammer_price),
        "buyer_premium": text(settlement.buyer_premium),
        "deposit_applied": text(settlement.deposit_applied),
        "balance_due": text(settlement.balance_due),
        "due_at": iso(settlement.due_at),
        "status": settlement.status,
        "paid_at": iso(settlement.paid_at),
        "documents": _documents(settlement),
    }


def _documents(settlement: Settlement) -> dict[str, str] | None:
    if settlement.status not in (Settlement.Status.PAID, Settlement.Status.PAID_OUT):
        return None
    return {
        "bill_of_sale": reverse("payments:bill-of-sale", args=[settlement.pk]),
        "transfer_notices": reverse("payments:transfer-notices", args=[settlement.pk]),
    }


def _confirmation(client_secret: str | None, requires_action: bool) -> dict[str, Any]:
    """What the browser needs to confirm with Stripe.js (3-D Secure, or a card entered in the page)."""
    return {
        "client_secret": client_secret,
        "requires_action": requires_action,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js": stripe_client.js_url(),
    }


class DepositView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=schema.PaymentMethodSerializer,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={201: schema.DepositHoldSerializer, 200: schema.DepositHoldSerializer, **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Start the deposit hold (`{"payment_method": "pm_..."}` confirms it at once), or return the active one and
        refresh it from Stripe. `held` lets you bid; `pending` with `requires_action` needs the client secret
        confirmed with Stripe.js. Repeating the request is harmless; with the same `Idempotency-Key` header it
        returns the first result (a declined card stays declined)."""
        payment_method = _payment_method(request)
        key = request.headers.get("Idempotency-Key", "")
        if len(key) > IDEMPOTENCY_KEY_LENGTH:
            raise DomainError("invalid", "Idempotency-Key is at most 64 characters.", http_status=400)
        try:
            deposit = services.deposit_hold(
                user=cast(User, request.user), auction_id=pk, payment_method=payment_method, request_key=key
            )
        except Auction.DoesNotExist as exc:
            raise Http404 from exc
        secret, requires_action = services.deposit_client_secret(deposit=deposit)
        body = {**deposit_json(deposit), **_confirmation(secret, requires_action)}
        return Response(body, status=status.HTTP_201_CREATED if deposit.status == "held" else status.HTTP_200_OK)


class SettlementPayView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=schema.PaymentMethodSerializer, responses={200: schema.SettlementPaySerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        """Pay the balance by card (`{"payment_method": "pm_..."}`), or fetch what Stripe.js must confirm."""
        payment_method = _payment_method(request)
        try:
            settlement = services.settlement_pay(
                user=cast(User, request.user), settlement_id=pk, payment_method=payment_method
            )
        except Settlement.DoesNotExist as exc:
            raise Http404 from exc
        secret, requires_action = None, False
        if settlement.status == Settlement.Status.AWAITING_PAYMENT and settlement.payment_intent:
            intent = stripe_client.client().v1.payment_intents.retrieve(settlement.payment_intent)
            secret, requires_action = intent.client_secret, intent.status != "succeeded"
        return Response({**settlement_json(settlement), **_confirmation(secret, requires_action)})


class MyDepositsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: schema.DepositPageSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """Your deposits, newest first."""
        paginator = PageNumberPagination()
        deposits = selectors.deposit_list(user=cast(User, request.user))
        page = paginator.paginate_queryset(deposits, request, view=self) or []
        return paginator.get_paginated_response([deposit_json(deposit) for deposit in page])


class MySettlementsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: schema.SettlementPageSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """Auctions you won and what you owe or paid, newest first."""
        paginator = PageNumberPagination()
        settlements = selectors.settlement_list(user=cast(User, request.user))
        page = paginator.paginate_queryset(settlements, request, view=self) or []
        return paginator.get_paginated_response([settlement_json(settlement) for settlement in page])


class MySalesView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: schema.SalePageSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """Sales of your organizations' portfolios: price, commission, payout and its status, newest first."""
        organizations = list(membership_list(user=cast(User, request.user)).values_list("organization_id", flat=True))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.sales_list(organization_ids=organizations), request, view=self)
        rows = [
            {
                **settlement_json(settlement),
                "portfolio": settlement.auction.portfolio_id,
                "seller_commission": text(settlement.seller_commission),
                "payout_amount": text(settlement.payout_amount),
                "paid_out_at": iso(settlement.paid_out_at),
                "forfeit_seller_amount": text(settlement.forfeit_seller_amount),
                "forfeit_paid_out_at": iso(settlement.forfeit_paid_out_at),
            }
            for settlement in page or []
        ]
        return paginator.get_paginated_response(rows)


def offer_json(offer: RunnerUpOffer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "auction": offer.auction_id,
        "title": offer.auction.portfolio.title,
        "amount": text(offer.amount),
        "currency": offer.currency,
        "status": offer.status,
        "expires_at": iso(offer.expires_at),
        "decided_at": iso(offer.decided_at),
        "settlement": None if offer.settlement is None else settlement_json(offer.settlement),
    }


class OffersView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: schema.OfferPageSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        """Runner-up offers made to you (after a winner defaulted), newest first: buy at your own last bid before
        `expires_at`, or decline."""
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(selectors.offer_list(user=cast(User, request.user)), request, view=self)
        return paginator.get_paginated_response([offer_json(offer) for offer in page or []])


class OfferDecisionView(APIView):
    permission_classes = [IsAuthenticated]
    decision = "accept"

    @extend_schema(request=None, responses={200: schema.OfferSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        """Accept (a settlement opens for you: pay its balance by its due date) or decline the offer. Repeating the
        same decision returns the same result; `offer_expired` / `offer_closed` (409) once it is no longer open."""
        user = cast(User, request.user)
        if self.decision == "accept":
            offer = services.offer_accept(user=user, offer_id=pk)
        else:
            offer = services.offer_decline(user=user, offer_id=pk)
        offer = selectors.offer_list(user=user).get(pk=offer.pk)
        return Response(offer_json(offer))
