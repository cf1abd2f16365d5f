"""The data room in the browser: NDA acceptance, masked loans page by page, documents; every read logged."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.request import client_ip
from marketplace.errors import DomainError
from portfolios import selectors
from portfolios.api.views import download_response
from portfolios.forms import LoanFilterForm, NdaAcceptForm
from portfolios.models import Portfolio, PortfolioDocument
from portfolios.services import data_room

LOANS_PER_PAGE = 50


def _portfolio(request: HttpRequest, pk: int) -> Portfolio:
    return get_object_or_404(selectors.portfolio_visible_to(user=cast(User, request.user)), pk=pk)


@login_required
def data_room_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    portfolio = _portfolio(request, pk)
    entry = data_room.data_room_entry(user=user, portfolio=portfolio)
    context: dict[str, object] = {"portfolio": portfolio, "entry": entry}
    if entry.code == "nda_required":
        nda = data_room.nda_current()
        context |= {"nda": nda, "form": NdaAcceptForm(initial={"version": nda.version})}
    if entry.code is None:
        filters = LoanFilterForm(request.GET or None)
        chosen = {k: v for k, v in filters.cleaned_data.items() if v} if filters.is_valid() else {}
        number = request.GET.get("page") or "1"
        shown = ", ".join(f"{key}={value}" for key, value in chosen.items())
        try:
            data_room.loans_read(
                user=user,
                portfolio=portfolio,
                detail=f"page {number} (web)" + (f"; {shown}" if shown else ""),
                ip_address=client_ip(request),
            )
        except DomainError as error:
            messages.error(request, error.message)
            return render(request, "portfolios/data_room.html", context, status=429)
        loans = selectors.loan_list_masked(portfolio=portfolio, filters=chosen)
        query = request.GET.copy()
        query.pop("page", None)
        context |= {
            "filters": filters,
            "page": Paginator(loans, LOANS_PER_PAGE).get_page(number),
            "query": query.urlencode(),
            "documents": selectors.document_list(portfolio=portfolio),
        }
    elif entry.code != "login_required":
        public = selectors.document_list(portfolio=portfolio).filter(visibility=PortfolioDocument.Visibility.PUBLIC)
        context["documents"] = public
    status = 403 if entry.code else 200
    return render(request, "portfolios/data_room.html", context, status=status)


@login_required
@require_POST
def nda_accept(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _portfolio(request, pk)
    form = NdaAcceptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Tick the box to accept the NDA."))
        return redirect("portfolios:data_room", pk=pk)
    try:
        data_room.nda_accept(
            user=cast(User, request.user),
            portfolio=portfolio,
            version=form.cleaned_data["version"],
            ip_address=client_ip(request),
        )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("portfolios:data_room", pk=pk)


@login_required
def document_download(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse | StreamingHttpResponse:
    document = get_object_or_404(PortfolioDocument, portfolio=_portfolio(request, pk), pk=document_pk)
    try:
        download = data_room.document_download(
            user=cast(User, request.user), document=document, ip_address=client_ip(request)
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("portfolios:data_room", pk=pk)
    return download_response(download)


@login_required
def loans_export(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    filters = LoanFilterForm(request.GET or None)
    chosen = {k: v for k, v in filters.cleaned_data.items() if v} if filters.is_valid() else {}
    try:
        download = data_room.loans_export(
            user=cast(User, request.user),
            portfolio=_portfolio(request, pk),
            filters=chosen,
            ip_address=client_ip(request),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("portfolios:data_room", pk=pk)
    return download_response(download)


@login_required
def access_log(request: HttpRequest, pk: int) -> HttpResponse:
    """Who read what in the data room, for the seller's own people and staff (IP addresses stay in admin)."""
    portfolio = _portfolio(request, pk)
    if not data_room.data_room_entry(user=cast(User, request.user), portfolio=portfolio).insider:
        raise PermissionDenied
    page = Paginator(selectors.data_room_access_list(portfolio=portfolio), 100).get_page(request.GET.get("page"))
    return render(request, "portfolios/access_log.html", {"portfolio": portfolio, "page": page})
