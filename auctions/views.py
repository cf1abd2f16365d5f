"""Auction pages: the list and the auction room (read-only without JavaScript, with a working HTTP bid form)."""

import uuid
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.models import User
from auctions import notifications, selectors, services
from auctions.forms import AuctionSetupForm
from auctions.models import Auction
from portfolios.models import Portfolio
from portfolios.static_vendor import CHART_JS, vendor_url

PRICE_POINTS = 500  # the chart shows the latest bids; the ledger API has them all


def auction_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    auctions = selectors.auction_list(filters={"status": status})[:200]
    context = {"auctions": auctions, "status": status, "view_statuses": Auction.Status.choices}
    return render(request, "auctions/list.html", context)


def _auction(pk: int) -> Auction:
    try:
        return selectors.auction_get(auction_id=pk)
    except Auction.DoesNotExist:
        raise Http404 from None


def auction_room(request: HttpRequest, pk: int) -> HttpResponse:
    auction = _auction(pk)
    snapshot = selectors.snapshot(auction=auction, user=cast(User, request.user))
    context = {
        "auction": auction,
        "snapshot": snapshot,
        "price_points": None
        if snapshot["bid_count"] is None
        else selectors.price_points(auction=auction, limit=PRICE_POINTS),
        "chart_js": vendor_url(CHART_JS),
        "blocker": selectors.bid_blocker(user=request.user, auction=auction),
        "bids": selectors.bid_list(auction=auction).order_by("-seq")[:20],
        "request_id": uuid.uuid4(),
        "retail": request.user.is_authenticated and account_selectors.investor_class(user=request.user) == "retail",
        "watching": request.user.is_authenticated and auction.watches.filter(user=request.user).exists(),
    }
    return render(request, "auctions/room.html", context)


@login_required
@require_POST
def bid(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTTP bid form: the same `bid_place` as the API; the form's request id makes a double submit harmless."""
    try:
        outcome = services.bid_place(
            user=cast(User, request.user),
            auction_id=pk,
            amount=request.POST.get("amount", "").strip(),
            request_key=request.POST.get("request_id", "")[:64],
        )
    except services.AuctionError as error:
        messages.error(request, error.message)
    else:
        if outcome.replayed:
            messages.info(request, _("This bid was already sent; nothing changed."))
        elif outcome.bids and outcome.bids[-1].bidder_id != request.user.pk:
            messages.warning(request, _("Your bid was placed, but another buyer's maximum is higher: you are outbid."))
        elif outcome.bids:
            messages.success(request, _("Your bid is in: you are leading."))
        else:
            messages.success(request, _("Your sealed bid is recorded. Nobody sees it until the auction closes."))
    return redirect("auctions:room", pk=pk)


@login_required
@require_POST
def proxy_bid(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.proxy_bid_set(
            user=cast(User, request.user),
            auction_id=pk,
            max_amount=request.POST.get("max_amount", "").strip(),
        )
    except services.AuctionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your maximum is set; the system bids for you up to it."))
    return redirect("auctions:room", pk=pk)


@login_required
def auction_setup(request: HttpRequest, portfolio_id: int) -> HttpResponse:
    """The seller puts an approved portfolio up for auction (the same service as the API; errors land on fields)."""
    portfolio = get_object_or_404(Portfolio, pk=portfolio_id)
    form = AuctionSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        auction = form.schedule(user=cast(User, request.user), portfolio=portfolio)
        if auction is not None:
            messages.success(request, _("The auction is scheduled."))
            return redirect("auctions:room", pk=auction.pk)
    return render(request, "auctions/setup.html", {"form": form, "portfolio": portfolio})


@login_required
@require_POST
def watch(request: HttpRequest, pk: int) -> HttpResponse:
    auction = _auction(pk)
    user = cast(User, request.user)
    if request.POST.get("watch") == "off":
        notifications.watch_remove(user=user, auction=auction)
        messages.success(request, _("Removed from your auctions."))
    else:
        notifications.watch_set(user=user, auction=auction, notify_ending_soon=bool(request.POST.get("ending_soon")))
        messages.success(request, _("Added to your auctions."))
    return redirect("auctions:room", pk=pk)


@login_required
def my_auctions(request: HttpRequest) -> HttpResponse:
    """Auctions the user watches or bids in, soonest closing first, with their prices."""
    user = cast(User, request.user)
    auctions = selectors.auctions_of(user=user)
    return render(request, "auctions/mine.html", {"auctions": auctions})


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    if request.method == "POST":
        notifications.notifications_mark_read(user=user)
        return redirect("auctions:notifications")
    items = user.notifications.select_related("auction__portfolio")[:200]
    return render(request, "auctions/notifications.html", {"notifications": items})
