"""Read queries about accounts shared by pages, the API and WebSocket auth."""

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiToken, Membership, User
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
