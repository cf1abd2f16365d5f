"""Read queries about portfolios for pages, the API and other apps."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import User
from portfolios import rules, tape, vault
from portfolios.models import (
    DataRoomAccess,
    ImportIssue,
    Loan,
    LoanTapeImport,
    PiiRelease,
    Portfolio,
    PortfolioDocument,
    VaultBlock,
)
from portfolios.services.listing import PortfolioError

AUDIENCE_FILTER = {"retail": Portfolio.Audience.OPEN, "professional": Portfolio.Audience.PROFESSIONAL_ONLY}


def portfolio_list_public(*, filters: dict[str, Any] | None = None) -> QuerySet[Portfolio]:
    """Listings buyers may browse (approved and later), filtered as API.md describes."""
    filters = filters or {}
    queryset = Portfolio.objects.select_related("seller", "stats").filter(status__in=rules.PUBLIC)
    if filters.get("debt_type"):
        queryset = queryset.filter(debt_type=filters["debt_type"])
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("region"):
        queryset = queryset.filter(regions__contains=[filters["region"]])
    if filters.get("audience") in AUDIENCE_FILTER:
        queryset = queryset.filter(audience=AUDIENCE_FILTER[filters["audience"]])
    if filters.get("min_face") is not None:
        queryset = queryset.filter(stats__total_claim__gte=filters["min_face"])
    if filters.get("max_face") is not None:
        queryset = queryset.filter(stats__total_claim__lte=filters["max_face"])
    if filters.get("q"):
        queryset = queryset.filter(Q(title__icontains=filters["q"]) | Q(description__icontains=filters["q"]))
    return queryset


def portfolio_visible_to(*, user: User | None) -> QuerySet[Portfolio]:
    """Public listings, plus every listing of the seller organizations the user acts for, plus all for staff."""
    queryset = Portfolio.objects.select_related("seller", "stats")
    if user is not None and user.is_authenticated and user.is_staff:
        return queryset
    visible = Q(status__in=rules.PUBLIC)
    if user is not None and user.is_authenticated:
        visible |= Q(seller__in=account_selectors.organizations_acted_for(user=user))
    return queryset.filter(visible)


def loan_titles_taken(*, portfolio: Portfolio) -> int:
    """How many of the portfolio's debts another listing holds the title to (chain-of-title register)."""
    held = Loan.objects.filter(portfolio__status__in=rules.TITLE_HELD).exclude(portfolio=portfolio)
    return Loan.objects.filter(portfolio=portfolio, title_hash__in=held.values("title_hash")).count()


def import_job_visible_to(*, user: User) -> QuerySet[LoanTapeImport]:
    """Import jobs of the seller organizations the user acts for (all for staff)."""
    queryset = LoanTapeImport.objects.select_related("portfolio")
    if user.is_staff:
        return queryset
    return queryset.filter(portfolio__seller__in=account_selectors.organizations_acted_for(user=user))


def import_issue_list(*, job: LoanTapeImport) -> QuerySet[ImportIssue]:
    return job.issues.order_by("row", "pk")


@dataclass(frozen=True)
class DebtorIdentity:
    """One loan's debtor, in clear: only ever built for the buyer a sold portfolio was released to."""

    loan_id: str
    debtor: str
    borrower_id: str
    borrower_name: str
    national_id: str
    phone: str
    address: str
    case_number: str


DebtorIdentities = Iterator[DebtorIdentity]


def pii_released_for(*, portfolio: Portfolio, buyer: User) -> DebtorIdentities:
    """The decrypted identities of a portfolio's debtors, streamed, for the buyer they were released to only."""
    if not PiiRelease.objects.filter(portfolio=portfolio, buyer=buyer).exists():
        raise PortfolioError(
            "not_released", _("This portfolio's debtor data was not released to you."), http_status=403
        )
    return _decrypted(portfolio.pk)


def _decrypted(portfolio_id: int) -> DebtorIdentities:
    """The portfolio's debtor identities in tape order, one vault block in memory at a time.

    The blocks must hold exactly the portfolio's loans, in their order (loan ids follow the tape): a block missing,
    repeated or left from an earlier tape raises VaultIntegrityError instead of releasing the wrong identities.
    """
    loans = Loan.objects.filter(portfolio_id=portfolio_id).order_by("id").values_list("loan_id", "debtor")
    expected = loans.iterator(chunk_size=5000)
    blocks = VaultBlock.objects.filter(portfolio_id=portfolio_id).order_by("number")
    for number, ciphertext in blocks.values_list("number", "ciphertext").iterator(chunk_size=1):
        for loan_id, debtor, *values in vault.open_block(bytes(ciphertext), portfolio_id=portfolio_id, number=number):
            if next(expected, None) != (loan_id, debtor):
                raise vault.VaultIntegrityError(f"portfolio {portfolio_id}: vault block {number} is not its loans'")
            yield DebtorIdentity(
                loan_id=loan_id or "",
                debtor=debtor or "",
                **{name: value or "" for name, value in zip(tape.PII, values, strict=True)},
            )
    if next(expected, None) is not None:
        raise vault.VaultIntegrityError(f"portfolio {portfolio_id}: loans without identities in the vault")


# What a data-room reader sees of a loan: everything but the debtor's identity (in the vault) and the title hash.
MASKED_LOAN_FIELDS = [
    "loan_id",
    "debtor",
    "borrower_type",
    "region",
    "currency",
    "origination_date",
    "origination_amount",
    "principal_balance",
    "accrued_interest",
    "other_balances",
    "total_claim",
    "days_past_due",
    "default_date",
    "charged_off",
    "charge_off_date",
    "last_payment_date",
    "last_payment_amount",
    "interest_rate",
    "collateral_type",
    "collateral_value",
    "guarantors",
    "legal_status",
    "credit_score_band",
]
LOAN_FILTERS = ("region", "legal_status", "borrower_type", "collateral_type")


def loan_list_masked(*, portfolio: Portfolio, filters: dict[str, Any] | None = None) -> QuerySet[Loan]:
    """A portfolio's loans for its data room, in tape order, with only the masked fields loaded."""
    queryset = Loan.objects.filter(portfolio=portfolio).only(*MASKED_LOAN_FIELDS).order_by("id")
    for name in LOAN_FILTERS:
        if value := (filters or {}).get(name):
            queryset = queryset.filter(**{name: value})
    return queryset


def document_list(*, portfolio: Portfolio) -> QuerySet[PortfolioDocument]:
    return portfolio.documents.order_by("uploaded_at", "pk")


def data_room_access_list(*, portfolio: Portfolio) -> QuerySet[DataRoomAccess]:
    return portfolio.data_room_reads.select_related("user", "document").order_by("-created_at", "-pk")
