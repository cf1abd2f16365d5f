"""Admin for auctions: read-only ledgers and event streams; staff cancel auctions and void bids with a reason."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from auctions import services
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
