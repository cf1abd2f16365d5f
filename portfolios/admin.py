"""Admin for listings: the moderation queue (approve, reject with a reason) and each listing's event log."""

from typing import Any

from django.contrib import admin
from django.db.models import Case, Value, When
from django.http import HttpRequest

from marketplace.admin_actions import action_with_reason
from portfolios import services
from portfolios.models import Portfolio, PortfolioEvent


class PortfolioEventInline(admin.TabularInline[PortfolioEvent, Portfolio]):
    model = PortfolioEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = ("created_at", "from_status", "to_status", "actor", "reason")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin[Portfolio]):
    list_display = ["title", "seller", "debt_type", "audience", "status", "currency", "cutoff_date", "updated_at"]
    list_filter = ["status", "debt_type", "audience", "seller"]
    search_fields = ["title", "description", "seller__name"]
    inlines = [PortfolioEventInline]
    actions = [
        action_with_reason(
            description="Approve listing",
            act=lambda p, reviewer, reason: services.portfolio_review(portfolio=p, reviewer=reviewer, approve=True),
            reason_required=False,
        ),
        action_with_reason(
            description="Reject listing",
            act=lambda p, reviewer, reason: services.portfolio_review(
                portfolio=p, reviewer=reviewer, approve=False, reason=reason
            ),
        ),
    ]

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        submitted_first = Case(When(status=Portfolio.Status.SUBMITTED, then=Value(0)), default=Value(1))
        return [submitted_first.asc(), "-updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Portfolio._meta.fields]  # content is the seller's; staff decide through actions

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sellers create listings; staff moderate them

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # withdrawn, never deleted
