"""Read queries about accounts shared by pages, the API and WebSocket auth."""

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts import rules
from accounts.models import (
    ApiToken,
    InvestorClassification,
    KycSubmission,
    Membership,
    Organization,
    RelatedPartyFlag,
    ReviewStatus,
    RiskWarning,
    SuitabilityAssessment,
    User,
)

KNOWLEDGE_TEST_FILE = Path(__file__).resolve().parent / "data" / "knowledge_test.json"


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return user.api_tokens.order_by("revoked_at", "-created_at")


def membership_list(*, user: User) -> QuerySet[Membership]:
    return user.memberships.select_related("organization").order_by("organization__name")


def organizations_acted_for(*, user: User) -> QuerySet[Organization]:
    """Organizations the user owns or trades for."""
    return Organization.objects.filter(memberships__user=user, memberships__role__in=Membership.ACTING_ROLES)


def kyc_latest(*, user: User) -> KycSubmission | None:
    return user.kyc_submissions.order_by("-submitted_at").first()


@dataclass(frozen=True)
class Standing:
    """Where a buyer stands, read in one query (the bid path asks on every bid)."""

    kyc_status: str  # `unverified`, `pending`, `approved` or `rejected`
    investor_class: str  # `retail` or `professional`
    seller_member: bool = False  # belongs to the given seller, in any role
    related_party: bool = False  # flagged by staff as related to the given seller or its debtors
    suspended: bool = False  # suspended or deactivated, as the database says now (a loaded user may be older)


# Every fact `standing` needs, as select-list columns, so that one round trip answers (the bid path also folds them
# into its own read of the auction). Written as SQL because the bid path asks on every bid and the ORM spent five
# times longer composing this query than PostgreSQL spent running it. Named parameters: those of
# `standing_params`; `{seller}` is an SQL expression for the seller's id.
_STANDING_COLUMNS = """
    EXISTS (SELECT 1 FROM {kyc} k JOIN {membership} m ON m.organization_id = k.organization_id
            WHERE k.kind = 'organization' AND k.status = 'approved' AND m.user_id = %(user)s
              AND m.role = ANY(%(acting)s)) AS organization_verified,
    EXISTS (SELECT 1 FROM {kyc} k JOIN {membership} m ON m.organization_id = k.organization_id
            JOIN {organization} o ON o.id = k.organization_id
            WHERE k.kind = 'organization' AND k.status = 'approved' AND m.user_id = %(user)s
              AND m.role = ANY(%(acting)s) AND o.kind = %(institution)s) AS institution,
    (SELECT k.status FROM {kyc} k WHERE k.user_id = %(user)s ORDER BY k.submitted_at DESC LIMIT 1) AS latest_kyc,
    EXISTS (SELECT 1 FROM {classification} c WHERE c.user_id = %(user)s AND c.status = 'approved'
              AND c.valid_until > %(now)s) AS classified,
    EXISTS (SELECT 1 FROM {membership} m WHERE m.user_id = %(user)s AND m.organization_id = {seller}) AS member,
    EXISTS (SELECT 1 FROM {flag} f WHERE f.user_id = %(user)s AND f.seller_id = {seller}) AS related,
    NOT EXISTS (SELECT 1 FROM {user} u WHERE u.id = %(user)s AND u.is_active AND NOT u.is_suspended) AS barred
"""
STANDING_WIDTH = 7  # columns of `standing_columns`, in the order `standing_from` reads them


@functools.cache
def standing_columns(*, seller: str = "%(seller)s") -> str:
    return _STANDING_COLUMNS.format(
        seller=seller,
        kyc=KycSubmission._meta.db_table,
        membership=Membership._meta.db_table,
        organization=Organization._meta.db_table,
        classification=InvestorClassification._meta.db_table,
        flag=RelatedPartyFlag._meta.db_table,
        user=User._meta.db_table,
    )


STANDING_TYPES = {"user": "bigint", "acting": "text[]", "institution": "text", "now": "timestamptz"}  # of the params


def standing_params(*, user_id: int) -> dict[str, Any]:
    return {
        "user": user_id,
        "acting": [str(role) for role in Membership.ACTING_ROLES],
        "institution": Organization.Kind.INSTITUTIONAL_INVESTOR.value,
        "now": timezone.now(),
    }


def standing_from(row: Sequence[Any]) -> Standing:
    """The standing from the `standing_columns` of a row."""
    organization_verified, institution, latest_kyc, classified, member, related, barred = row
    return Standing(
        kyc_status=ReviewStatus.APPROVED if organization_verified else latest_kyc or "unverified",
        investor_class="professional" if institution or classified else "retail",
        seller_member=member,
        related_party=related,
        suspended=barred,
    )


def standing(*, user: User, seller_id: int | None = None) -> Standing:
    """KYC status (a member of an organization verified as such is approved), investor class (members of a verified
    institution, or holders of a confirmed, unexpired classification, are professional), conflicts with a seller,
    and whether the account is suspended or deactivated."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + standing_columns(), {**standing_params(user_id=user.pk), "seller": seller_id})
        return standing_from(cursor.fetchone())


def kyc_status(*, user: User) -> str:
    return standing(user=user).kyc_status


def investor_class(*, user: User) -> str:
    return standing(user=user).investor_class


def classification_latest(*, user: User) -> InvestorClassification | None:
    return user.classifications.order_by("-submitted_at").first()


def is_related_party(*, user: User, seller_id: int) -> bool:
    return RelatedPartyFlag.objects.filter(user=user, seller_id=seller_id).exists()


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    choices: list[str]
    answer: int


@dataclass(frozen=True)
class KnowledgeTest:
    version: str
    pass_mark: Decimal
    questions: list[Question]


@functools.cache
def knowledge_test() -> KnowledgeTest:
    """The current entry test; its questions and answers are data (accounts/data/knowledge_test.json)."""
    raw = json.loads(KNOWLEDGE_TEST_FILE.read_text(encoding="utf-8"))
    return KnowledgeTest(
        version=raw["version"],
        pass_mark=Decimal(str(raw["pass_mark"])),
        questions=[Question(**q) for q in raw["questions"]],
    )


def risk_warning_current() -> RiskWarning:
    warning = RiskWarning.objects.order_by("-published_at").first()
    if warning is None:
        raise RiskWarning.DoesNotExist("no risk warning is published")
    return warning


def suitability_passed(*, user: User) -> SuitabilityAssessment | None:
    return user.suitability_assessments.filter(passed=True).order_by("-completed_at").first()


@dataclass(frozen=True)
class Suitability:
    """Where a buyer stands: `knowledge_test`, `risk_warning`, `reflection` (until `ready_at`) or `complete`."""

    step: str
    ready_at: datetime | None = None


def suitability(*, user: User) -> Suitability:
    if investor_class(user=user) == "professional":
        return Suitability("complete")
    passed = suitability_passed(user=user)
    if passed is None:
        return Suitability("knowledge_test")
    acknowledgement = user.risk_acknowledgements.filter(warning=risk_warning_current()).first()
    if acknowledgement is None:
        return Suitability("risk_warning")
    last_step = max(passed.completed_at, acknowledgement.acknowledged_at)
    ready_at = last_step + timedelta(days=settings.SUITABILITY_REFLECTION_DAYS)
    return Suitability("reflection", ready_at) if timezone.now() < ready_at else Suitability("complete", ready_at)


def exposure_cap(*, user: User) -> Decimal | None:
    """A retail buyer's cap on open commitments, in settings.RETAIL_EXPOSURE_CURRENCY (0 before a net worth is
    declared); None for professionals, who have no cap."""
    if investor_class(user=user) == "professional":
        return None
    passed = suitability_passed(user=user)
    return rules.retail_exposure_cap(
        declared_net_worth=passed.declared_net_worth if passed else Decimal(0),
        platform_limit=settings.RETAIL_EXPOSURE_LIMIT,
        net_worth_share=settings.RETAIL_EXPOSURE_NET_WORTH_SHARE,
    )


def membership_list_of(*, organization: Organization) -> QuerySet[Membership]:
    """Owners and traders, the people who act for an organization."""
    return organization.memberships.select_related("user").filter(
        role__in=Membership.ACTING_ROLES, user__is_active=True
    )


SIMULATED_STAKES = (Decimal("50000"), Decimal("200000"), Decimal("500000"))


def loss_simulation(*, user: User) -> list[tuple[Decimal, Decimal | None]]:
    """What losing each example stake (and the buyer's own cap) entirely would be, as % of declared net worth."""
    passed = suitability_passed(user=user)
    if passed is None:
        return []
    cap = exposure_cap(user=user)
    stakes = sorted({*SIMULATED_STAKES, *([cap] if cap else [])})
    return [
        (stake, rules.loss_share_of_net_worth(stake=stake, declared_net_worth=passed.declared_net_worth))
        for stake in stakes
    ]
