"""Auction pages: the list and the auction room (read-only without JavaScript, with a working HTTP bid form)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from auctions import selectors, services
from auctions.models import Auction


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
    context = {
        "auction": auction,
        "snapshot": selectors.snapshot(auction=auction, user=request.user),  # type: ignore[arg-type]
        "blocker": selectors.bid_blocker(user=request.user, auction=auction),
        "bids": selectors.bid_list(auction=auction).order_by("-seq")[:20],
        "request_id": uuid.uuid4(),
    }
    return render(request, "auctions/room.html", context)


@login_required
@require_POST
def bid(request: HttpRequest, pk: int) -> HttpResponse:
    """The HTTP bid form: the same `bid_place` as the API; the form's request id makes a double submit harmless."""
    try:
        outcome = services.bid_place(
            user=request.user,  # type: ignore[arg-type]
            auction_id=pk,
            amount=request.POST.get("amount", "").strip(),
            request_key=request.POST.get("request_id", "")[:64],
        )
    except services.AuctionError as error:
        messages.error(request, error.message)
    else:
        if outcome.bids and outcome.bids[-1].bidder_id != request.user.pk:
            messages.warning(request, _("Your bid was placed, but another buyer's maximum is higher: you are outbid."))
        elif outcome.bids or outcome.replayed:
            messages.success(request, _("Your bid is in: you are leading."))
        else:
            messages.success(request, _("Your sealed bid is recorded. Nobody sees it until the auction closes."))
    return redirect("auctions:room", pk=pk)


@login_required
@require_POST
def proxy_bid(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.proxy_bid_set(
            user=request.user,  # type: ignore[arg-type]
            auction_id=pk,
            max_amount=request.POST.get("max_amount", "").strip(),
        )
    except services.AuctionError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your maximum is set; the system bids for you up to it."))
    return redirect("auctions:room", pk=pk)
