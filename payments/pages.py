"""Payment pages: post an auction's deposit with a card (Stripe.js, or localstripe's stand-in offline)."""

from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts.models import User
from auctions import selectors as auction_selectors
from auctions.models import Auction
from payments import selectors, stripe_client


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
