"""Payment pages: an auction's deposit by card (Stripe.js or localstripe's stand-in), a sale's documents."""

from http import HTTPStatus
from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts.models import User
from auctions import selectors as auction_selectors
from auctions.models import Auction
from payments import documents, selectors, stripe_client
from payments.errors import PaymentError
from payments.models import Settlement


@login_required
@ensure_csrf_cookie
def deposit_page(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        auction = auction_selectors.auction_get(auction_id=pk)
    except Auction.DoesNotExist as exc:
        raise Http404 from exc
    context = {
        "auction": auction,
        "status": selectors.deposit_status(user=cast(User, request.user), auction_id=auction.pk),
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js": stripe_client.js_url(),
    }
    return render(request, "payments/deposit.html", context)


def _settlement_for_documents(request: HttpRequest, pk: int) -> Settlement:
    settlement = Settlement.objects.select_related("auction__portfolio__seller", "buyer").filter(pk=pk).first()
    if settlement is None:
        raise Http404
    try:
        documents.document_access_check(user=cast(User, request.user), settlement=settlement)
    except PaymentError as exc:
        if exc.http_status == HTTPStatus.NOT_FOUND:
            raise Http404 from exc
        raise PermissionDenied(exc.message) from exc
    return settlement


@login_required
def bill_of_sale(request: HttpRequest, pk: int) -> HttpResponse:
    settlement = _settlement_for_documents(request, pk)
    response = HttpResponse(documents.bill_of_sale_pdf(settlement=settlement), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="bill-of-sale-{settlement.auction_id}.pdf"'
    return response


@login_required
def transfer_notices(request: HttpRequest, pk: int) -> HttpResponse:
    settlement = _settlement_for_documents(request, pk)
    response = HttpResponse(documents.transfer_notices_csv(settlement=settlement), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="transfer-notices-{settlement.auction_id}.csv"'
    return response


@login_required
@ensure_csrf_cookie
def pay_page(request: HttpRequest, pk: int) -> HttpResponse:
    buyer = cast(User, request.user)
    settlement = Settlement.objects.select_related("auction__portfolio").filter(pk=pk, buyer=buyer).first()
    if settlement is None:
        raise Http404
    context = {
        "settlement": settlement,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_js": stripe_client.js_url(),
    }
    return render(request, "payments/pay.html", context)
