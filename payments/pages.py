"""Payment pages: an auction's deposit by card (Stripe.js or localstripe's stand-in), the balance payment, a sale's
documents, and the money dashboard (deposits, settlements, runner-up offers to accept or decline, sales, payouts)."""

from http import HTTPStatus
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import membership_list
from auctions import selectors as auction_selectors
from auctions.models import Auction
from payments import documents, selectors, services, stripe_client
from payments.errors import PaymentError
from payments.models import Settlement


@login_required
@ensure_csrf_cookie
def deposit_page(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        auction = auction_selectors.auction_get(auction_id=pk)
    except Auction.DoesNotExist as exc:
        raise Http404 from exc
    user = cast(User, request.user)
    context = {
        "auction": auction,
        "barred": selectors.defaulted_on_portfolio(user=user, portfolio_id=auction.portfolio_id),
        "status": selectors.deposit_status(user=user, auction_id=auction.pk),
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


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """The user's money: runner-up offers (accept or decline), deposits, settlements; and their sellers' sales."""
    user = cast(User, request.user)
    organizations = list(membership_list(user=user).values_list("organization_id", flat=True))
    context = {
        "offers": selectors.offer_list(user=user)[:50],
        "deposits": selectors.deposit_list(user=user).select_related("auction__portfolio")[:100],
        "settlements": selectors.settlement_list(user=user).select_related("auction__portfolio")[:100],
        "sales": selectors.sales_list(organization_ids=organizations)[:100] if organizations else [],
    }
    return render(request, "payments/mine.html", context)


@login_required
@require_POST
def offer_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    """The accept and decline buttons of an offer (CSRF-protected forms on the dashboard)."""
    user = cast(User, request.user)
    try:
        if decision == "accept":
            offer = services.offer_accept(user=user, offer_id=pk)
            messages.success(request, _("You bought the lot. Pay the balance by the date shown."))
            if offer.settlement_id is not None:
                return redirect("payments:pay", offer.settlement_id)
        else:
            services.offer_decline(user=user, offer_id=pk)
            messages.info(request, _("You declined the offer."))
    except PaymentError as exc:
        if exc.http_status == HTTPStatus.NOT_FOUND:
            raise Http404 from exc
        messages.error(request, exc.message)
    return redirect("payments:mine")
