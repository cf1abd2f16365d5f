"""The seller's pages: their listings, and a draft's steps (details → loan tape → documents → submit for review)."""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from accounts.models import Organization, User
from marketplace.errors import DomainError
from portfolios import rules, selectors, services
from portfolios.forms import DocumentForm, LoanTapeForm, PortfolioDetailsForm
from portfolios.models import LoanTapeImport, Portfolio, PortfolioDocument
from portfolios.services import data_room, loan_tape
from portfolios.services.listing import EDITABLE_FIELDS

STEPS = [("details", _("Details")), ("tape", _("Loan tape")), ("documents", _("Documents")), ("submit", _("Submit"))]


def _sellers(user: User) -> QuerySet[Organization]:
    return account_selectors.organizations_acted_for(user=user).filter(kind__in=Organization.SELLER_KINDS)


def _draft(request: HttpRequest, pk: int) -> Portfolio:
    """A listing of one of the user's seller organizations (404 for anyone else's)."""
    return get_object_or_404(Portfolio.objects.filter(seller__in=_sellers(cast(User, request.user))), pk=pk)


def _render_step(request: HttpRequest, step: str, portfolio: Portfolio | None, **context: Any) -> HttpResponse:
    names = [name for name, _label in STEPS]
    shown = "tape" if step == "import" else step
    steps = [
        {"name": name, "label": label, "done": names.index(name) < names.index(shown), "current": name == shown}
        for name, label in STEPS
    ]
    editable = portfolio is None or portfolio.status in rules.EDITABLE
    context = {"portfolio": portfolio, "steps": steps, "step": step, "editable": editable, **context}
    return render(request, f"portfolios/wizard/{step}.html", context, status=context.pop("status", 200))


def _apply_errors(form: Form, error: ValidationError | DomainError) -> None:
    if isinstance(error, DomainError):
        form.add_error(None, error.message)
        return
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


@login_required
def my_listings(request: HttpRequest) -> HttpResponse:
    sellers = _sellers(cast(User, request.user))
    listings = Portfolio.objects.filter(seller__in=sellers).select_related("seller", "stats").order_by("-updated_at")
    return render(request, "portfolios/wizard/mine.html", {"listings": listings, "is_seller": sellers.exists()})


@login_required
def draft_new(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = PortfolioDetailsForm(request.POST or None, sellers=_sellers(user))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        seller = data.pop("seller")
        try:
            portfolio = services.portfolio_create(user=user, seller=seller, data=data)
        except (ValidationError, DomainError) as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Draft saved. Now upload its loan tape."))
            return redirect("portfolios:wizard_tape", pk=portfolio.pk)
    return _render_step(request, "details", None, form=form, status=400 if form.errors else 200)


@login_required
def draft_details(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    portfolio = _draft(request, pk)
    initial = {field: getattr(portfolio, field) for field in EDITABLE_FIELDS}
    initial["regions"] = ", ".join(portfolio.regions)
    form = PortfolioDetailsForm(request.POST or None, initial=initial, sellers=_sellers(user), editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.portfolio_update(user=user, portfolio=portfolio, data=form.cleaned_data)
        except (ValidationError, DomainError) as error:
            _apply_errors(form, error)
        else:
            return redirect("portfolios:wizard_tape", pk=portfolio.pk)
    return _render_step(request, "details", portfolio, form=form, status=400 if form.errors else 200)


@login_required
def draft_tape(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _draft(request, pk)
    form = LoanTapeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = loan_tape.loan_tape_upload(
                user=cast(User, request.user),
                portfolio=portfolio,
                file=form.cleaned_data["file"],
                mapping=form.mapping(),
            )
        except (ValidationError, DomainError) as error:
            _apply_errors(form, error)
        else:
            return redirect("portfolios:wizard_import", pk=portfolio.pk, job_pk=job.pk)
    latest = portfolio.tape_imports.order_by("-created_at", "-pk").first()
    return _render_step(request, "tape", portfolio, form=form, latest=latest, status=400 if form.errors else 200)


@login_required
def draft_import(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    portfolio = _draft(request, pk)
    job = get_object_or_404(LoanTapeImport, portfolio=portfolio, pk=job_pk)
    issues = selectors.import_issue_list(job=job)[:50]
    finished = job.status in (LoanTapeImport.Status.SUCCEEDED, LoanTapeImport.Status.FAILED)
    return _render_step(request, "import", portfolio, job=job, issues=issues, finished=finished)


@login_required
def draft_documents(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _draft(request, pk)
    form = DocumentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            data_room.document_upload(user=cast(User, request.user), portfolio=portfolio, **form.cleaned_data)
        except (ValidationError, DomainError) as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Document added."))
            return redirect("portfolios:wizard_documents", pk=portfolio.pk)
    documents = selectors.document_list(portfolio=portfolio)
    return _render_step(
        request, "documents", portfolio, form=form, documents=documents, status=400 if form.errors else 200
    )


@login_required
def draft_submit(request: HttpRequest, pk: int) -> HttpResponse:
    portfolio = _draft(request, pk)
    imported = hasattr(portfolio, "stats")
    if request.method == "POST":
        if not imported:
            messages.error(request, _("Import a loan tape before you submit the listing."))
        else:
            try:
                services.portfolio_submit(user=cast(User, request.user), portfolio=portfolio)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, _("Submitted: staff will review the listing and tell you the result."))
                return redirect("portfolios:mine")
    documents = selectors.document_list(portfolio=portfolio)
    return _render_step(request, "submit", portfolio, imported=imported, documents=documents)


@login_required
@require_POST
def draft_document_delete(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    document = get_object_or_404(PortfolioDocument, portfolio=_draft(request, pk), pk=document_pk)
    try:
        data_room.document_delete(user=cast(User, request.user), document=document)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Document removed."))
    return redirect("portfolios:wizard_documents", pk=pk)
