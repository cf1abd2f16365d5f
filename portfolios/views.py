"""Public pages: browse approved portfolios, and a portfolio's card with its figures (never any debtor's data)."""

from decimal import Decimal
from typing import Any, cast

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _

from accounts import selectors as account_selectors
from accounts.models import User
from portfolios import selectors
from portfolios.forms import SORTS, BrowseForm
from portfolios.models import Loan, PortfolioStats
from portfolios.static_vendor import CHART_JS, vendor_url

PAGE_SIZE = 20
DIMENSIONS = [
    ("legal_status", _("Legal status"), dict(Loan.LegalStatus.choices)),
    ("dpd_bucket", _("Days past due"), {}),
    ("ticket_size", _("Ticket size (total claim)"), {}),
    ("region", _("Region"), {}),
    ("borrower_type", _("Borrower type"), dict(Loan.BorrowerType.choices)),
]


def portfolio_browse(request: HttpRequest) -> HttpResponse:
    form = BrowseForm(request.GET or None)
    filters = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")} if form.is_valid() else {}
    portfolios = selectors.portfolio_list_public(filters=filters).order_by(*SORTS[filters.get("sort") or "newest"])
    page = Paginator(portfolios, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "portfolios/browse.html", {"form": form, "page": page, "query": query.urlencode()})


def portfolio_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    portfolio = get_object_or_404(selectors.portfolio_visible_to(user=user), pk=pk)
    stats = getattr(portfolio, "stats", None)
    context = {
        "portfolio": portfolio,
        "stats": stats,
        "distributions": _distributions(stats) if stats else [],
        "documents": selectors.document_list(portfolio=portfolio),
        "chart_js": vendor_url(CHART_JS) if stats else None,
        "acts_for_seller": user.is_authenticated
        and account_selectors.organizations_acted_for(user=user).filter(pk=portfolio.seller_id).exists(),
    }
    return render(request, "portfolios/detail.html", context)


def _distributions(stats: PortfolioStats) -> list[dict[str, Any]]:
    """Each distribution as rows of label, loans, claim and share of the total claim, in display order."""
    total = stats.total_claim or Decimal(1)
    tables = []
    for dimension, title, labels in DIMENSIONS:
        rows = [
            {
                "label": _("Other (small groups)")
                if group["key"] == "other"
                else labels.get(group["key"], group["key"]),
                "loans": group["loans"],
                "total_claim": Decimal(group["total_claim"]),
                "share": Decimal(group["total_claim"]) / total,
            }
            for group in stats.distributions.get(dimension, [])
        ]
        tables.append({"dimension": dimension, "title": title, "rows": rows})
    return tables
