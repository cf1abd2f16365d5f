"""Read queries about portfolios for pages, the API and other apps."""

from typing import Any

from django.db.models import Q, QuerySet

from accounts import selectors as account_selectors
from accounts.models import User
from portfolios import rules
from portfolios.models import Portfolio

AUDIENCE_FILTER = {"retail": Portfolio.Audience.OPEN, "professional": Portfolio.Audience.PROFESSIONAL_ONLY}


def portfolio_list_public(*, filters: dict[str, Any] | None = None) -> QuerySet[Portfolio]:
    """Listings buyers may browse (approved and later), filtered as API.md describes."""
    filters = filters or {}
    queryset = Portfolio.objects.select_related("seller").filter(status__in=rules.PUBLIC)
    if filters.get("debt_type"):
        queryset = queryset.filter(debt_type=filters["debt_type"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("region"):
        queryset = queryset.filter(regions__contains=[filters["region"]])
    if filters.get("audience") in AUDIENCE_FILTER:
        queryset = queryset.filter(audience=AUDIENCE_FILTER[filters["audience"]])
    if filters.get("q"):
        queryset = queryset.filter(Q(title__icontains=filters["q"]) | Q(description__icontains=filters["q"]))
    return queryset


def portfolio_visible_to(*, user: User | None) -> QuerySet[Portfolio]:
    """Public listings, plus every listing of the seller organizations the user acts for, plus all for staff."""
    queryset = Portfolio.objects.select_related("seller")
    if user is not None and user.is_authenticated and user.is_staff:
        return queryset
    visible = Q(status__in=rules.PUBLIC)
    if user is not None and user.is_authenticated:
        visible |= Q(seller__in=account_selectors.organizations_acted_for(user=user))
    return queryset.filter(visible)
