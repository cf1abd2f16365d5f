"""Admin for auctions: staff schedule auctions through the setup service; read-only ledgers and event streams;
staff cancel auctions and void bids with a reason."""

from typing import Any, cast

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from accounts.models import User
from auctions import services
from auctions.forms import StaffAuctionSetupForm
from auctions.models import Auction, AuctionEvent, Bid, Participant
from marketplace.admin_actions import ServiceOnlyAdmin, action_with_reason


class ReadOnlyInline(admin.TabularInline[Any, Auction]):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ParticipantInline(ReadOnlyInline):
    model = Participant
    fields = readonly_fields = ("number", "user", "proxy_max", "sealed_amount", "joined_at")


class EventInline(ReadOnlyInline):
    model = AuctionEvent
    fields = readonly_fields = ("seq", "kind", "payload", "created_at")
    ordering = ["-seq"]


@admin.register(Auction)
class AuctionAdmin(ServiceOnlyAdmin):
    list_display = ["__str__", "format", "status", "result", "current_price", "bid_count", "closes_at", "currency"]
    list_filter = ["status", "format", "result"]
    search_fields = ["portfolio__title", "portfolio__seller__name"]
    date_hierarchy = "closes_at"
    inlines = [ParticipantInline, EventInline]
    actions = [
        action_with_reason(
            description="Cancel auction",
            act=lambda auction, staff, reason: services.auction_cancel(auction=auction, actor=staff, reason=reason),
        )
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("auctions.add_auction")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """Not a model form: the setup service validates and creates, as for sellers."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StaffAuctionSetupForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            auction = form.schedule(user=cast(User, request.user), portfolio=form.cleaned_data["portfolio"])
            if auction is not None:
                self.log_addition(request, auction, "Scheduled through the auction setup service")
                self.message_user(request, f"{auction} is scheduled.")
                return redirect("admin:auctions_auction_change", auction.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Schedule an auction",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/auctions/auction/schedule.html", context)


@admin.register(Bid)
class BidAdmin(ServiceOnlyAdmin):
    """The ledger: append-only. Voiding adds a record and an event; the row stays."""

    list_display = ["auction", "seq", "participant", "bidder", "amount", "kind", "placed_at", "voided"]
    list_filter = ["kind", "auction__status"]
    search_fields = ["bidder__email", "auction__portfolio__title"]
    list_select_related = ["auction__portfolio", "participant", "bidder", "void"]
    actions = [
        action_with_reason(
            description="Void bid",
            act=lambda bid, staff, reason: services.bid_void(bid=bid, actor=staff, reason=reason),
        )
    ]

    @admin.display(boolean=True)
    def voided(self, bid: Bid) -> bool:
        return hasattr(bid, "void")
