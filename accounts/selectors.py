"""Read queries about accounts shared by pages, the API and WebSocket auth."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import (
    AccountDecision,
    ApiToken,
    InvestorClassification,
    KycSubmission,
    Membership,
    Organization,
    RelatedPartyFlag,
    ReviewStatus,
    User,
)
from accounts.services import API_TOKEN_PREFIX, hash_api_key

# Recording every use would add a write to every API request; minute precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def user_for_api_key(*, key: str) -> User | None:
    """The active user owning an active token with this key, or None."""
    if not key.startswith(API_TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=hash_api_key(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return user.api_tokens.order_by("revoked_at", "-created_at")


def membership_list(*, user: User) -> QuerySet[Membership]:
    return user.memberships.select_related("organization").order_by("organization__name")


def kyc_latest(*, user: User) -> KycSubmission | None:
    return user.kyc_submissions.order_by("-submitted_at").first()


def kyc_status(*, user: User) -> str:
    """`unverified`, `pending`, `approved` or `rejected`; a member of an organization verified as such is approved."""
    if KycSubmission.objects.filter(
        kind=KycSubmission.Kind.ORGANIZATION, status=ReviewStatus.APPROVED, organization__memberships__user=user
    ).exists():
        return ReviewStatus.APPROVED
    latest = kyc_latest(user=user)
    return latest.status if latest is not None else "unverified"


def investor_class(*, user: User) -> str:
    """`professional` for members of a verified institution or holders of a confirmed, unexpired classification."""
    verified_institution = KycSubmission.objects.filter(
        kind=KycSubmission.Kind.ORGANIZATION,
        status=ReviewStatus.APPROVED,
        organization__kind=Organization.Kind.INSTITUTIONAL_INVESTOR,
        organization__memberships__user=user,
    ).exists()
    confirmed = user.classifications.filter(status=ReviewStatus.APPROVED, valid_until__gt=timezone.now()).exists()
    return "professional" if verified_institution or confirmed else "retail"


def classification_latest(*, user: User) -> InvestorClassification | None:
    return user.classifications.order_by("-submitted_at").first()


def is_related_party(*, user: User, seller: Organization) -> bool:
    return RelatedPartyFlag.objects.filter(user=user, seller=seller).exists()


def decision_list(*, user: User) -> QuerySet[AccountDecision]:
    return user.decisions.select_related("actor").order_by("-created_at")
