"""Every change to a portfolio listing: drafting, submission, moderation, status changes."""

import re
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Organization, User
from marketplace.errors import DomainError
from portfolios import rules, selectors
from portfolios.models import Portfolio, PortfolioEvent

TITLE_LOCK = 0x7469746C65  # the advisory lock serializing approvals ("title")
EDITABLE_FIELDS = ("title", "description", "debt_type", "currency", "cutoff_date", "regions", "audience")
CURRENCY = re.compile(r"^[A-Z]{3}$")


class PortfolioError(DomainError):
    """A request the listing rules refuse."""


def _require_seller_member(*, user: User, seller: Organization) -> None:
    """Only owners and traders of a seller organization act for it."""
    if not seller.is_seller:
        raise PortfolioError(
            "not_seller", _("Only asset-management companies and banks list portfolios."), http_status=403
        )
    if not account_selectors.organizations_acted_for(user=user).filter(pk=seller.pk).exists():
        raise PortfolioError(
            "not_seller_member", _("You must be an owner or trader of %(org)s.") % {"org": seller}, http_status=403
        )


def _clean(data: dict[str, Any], *, current: Portfolio | None = None) -> dict[str, Any]:
    values = {field: data[field] for field in EDITABLE_FIELDS if field in data}
    merged = {field: getattr(current, field) for field in EDITABLE_FIELDS} if current else {}
    merged.update(values)
    errors: dict[str, str] = {}
    if not str(merged.get("title") or "").strip():
        errors["title"] = _("Give the portfolio a title.")
    if merged.get("debt_type") not in Portfolio.DebtType.values:
        errors["debt_type"] = _("Choose a debt type.")
    if not CURRENCY.fullmatch(str(merged.get("currency") or "CNY")):
        errors["currency"] = _("Use a three-letter ISO 4217 code such as CNY.")
    cutoff = merged.get("cutoff_date")
    if not isinstance(cutoff, date):
        errors["cutoff_date"] = _("Enter the cut-off date of the loan tape.")
    elif cutoff > timezone.localdate():
        errors["cutoff_date"] = _("The cut-off date cannot be in the future.")
    required = rules.required_audience(str(merged.get("debt_type")))
    if required is not None:
        if values.get("audience") not in (None, required):
            errors["audience"] = _("Consumer-loan portfolios may be sold to professional buyers only.")
        values["audience"] = required
    if "regions" in values:
        values["regions"] = sorted({str(region).strip() for region in values["regions"] if str(region).strip()})
    if errors:
        raise ValidationError(errors)
    return values


def portfolio_create(*, user: User, seller: Organization, data: dict[str, Any]) -> Portfolio:
    """A seller's new draft."""
    _require_seller_member(user=user, seller=seller)
    values = _clean(data)
    return Portfolio.objects.create(seller=seller, created_by=user, **values)


def portfolio_update(*, user: User, portfolio: Portfolio, data: dict[str, Any]) -> Portfolio:
    """Edit a draft (or a rejected listing before resubmitting it)."""
    _require_seller_member(user=user, seller=portfolio.seller)
    with transaction.atomic():
        portfolio = Portfolio.objects.select_for_update(no_key=True).get(pk=portfolio.pk)  # see portfolio_transition
        if portfolio.status not in rules.EDITABLE:
            raise PortfolioError("not_editable", _("Only drafts and rejected listings can be changed."))
        for field, value in _clean(data, current=portfolio).items():
            setattr(portfolio, field, value)
        portfolio.save()
    return portfolio


def portfolio_transition(*, portfolio: Portfolio, to: str, actor: User | None, reason: str = "") -> Portfolio:
    """Move a portfolio along its state machine under a row lock, with an event row. Illegal moves raise.

    The lock is FOR NO KEY UPDATE (what an UPDATE of non-key columns takes): it excludes other changes of the
    listing but not rows that refer to it, so it does not wait for a loan-tape import loading the listing's loans.
    """
    with transaction.atomic():
        locked = Portfolio.objects.select_for_update(no_key=True).get(pk=portfolio.pk)
        if not rules.can_transition(locked.status, to):
            raise PortfolioError(
                "illegal_transition",
                _("A portfolio that is %(current)s cannot become %(target)s.")
                % {"current": locked.get_status_display(), "target": Portfolio.Status(to).label},
            )
        PortfolioEvent.objects.create(
            portfolio=locked, from_status=locked.status, to_status=to, actor=actor, reason=reason
        )
        locked.status = to
        locked.rejection_reason = reason if to == Portfolio.Status.REJECTED else ""
        locked.save(update_fields=["status", "rejection_reason", "updated_at"])
    return locked


def portfolio_transition_many(*, portfolio_ids: list[int], to: str, actor: User | None = None) -> None:
    """The same move for many portfolios in one transaction (a closing sweep's lots); all or none."""
    with transaction.atomic():
        locked = list(Portfolio.objects.select_for_update(no_key=True).filter(pk__in=portfolio_ids).order_by("pk"))
        illegal = [p for p in locked if not rules.can_transition(p.status, to)]
        if illegal or len(locked) != len(set(portfolio_ids)):
            raise PortfolioError("illegal_transition", _("Some portfolios cannot become %(target)s.") % {"target": to})
        PortfolioEvent.objects.bulk_create(
            PortfolioEvent(portfolio=p, from_status=p.status, to_status=to, actor=actor) for p in locked
        )
        Portfolio.objects.filter(pk__in=portfolio_ids).update(status=to, rejection_reason="", updated_at=timezone.now())


def portfolio_submit(*, user: User, portfolio: Portfolio) -> Portfolio:
    _require_seller_member(user=user, seller=portfolio.seller)
    return portfolio_transition(portfolio=portfolio, to=Portfolio.Status.SUBMITTED, actor=user)


def portfolio_withdraw(*, user: User, portfolio: Portfolio, reason: str = "") -> Portfolio:
    _require_seller_member(user=user, seller=portfolio.seller)
    return portfolio_transition(portfolio=portfolio, to=Portfolio.Status.WITHDRAWN, actor=user, reason=reason)


def _require_free_titles(portfolio: Portfolio) -> None:
    """Two drafts may hold the same debt; the first approved takes its title, the second is refused.

    Approvals take one transaction-scoped lock, so two of them never check at the same time.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TITLE_LOCK])
    if taken := selectors.loan_titles_taken(portfolio=portfolio):
        raise PortfolioError(
            "already_listed",
            _("%(n)d of this portfolio's debts are in another listing that is listed or sold.") % {"n": taken},
        )


def portfolio_review(*, portfolio: Portfolio, reviewer: User, approve: bool, reason: str = "") -> Portfolio:
    """Staff approve a submitted listing, or reject it with a reason the seller's people are e-mailed."""
    reason = reason.strip()
    if not approve and not reason:
        raise ValidationError({"reason": _("Say why the listing is rejected: the seller reads it.")})
    target = Portfolio.Status.APPROVED if approve else Portfolio.Status.REJECTED
    with transaction.atomic():
        if approve:
            _require_free_titles(portfolio)
        portfolio = portfolio_transition(portfolio=portfolio, to=target, actor=reviewer, reason=reason)
        for member in account_selectors.membership_list_of(organization=portfolio.seller):
            account_services.email_queue(
                to=member.user.email,
                subject=_("Your portfolio was approved") if approve else _("Your portfolio needs changes"),
                template="portfolios/email/review_result.txt",
                context={"portfolio": portfolio, "user": member.user},
            )
    return portfolio
