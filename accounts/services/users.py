"""Sign-up, e-mail verification and API tokens."""

import functools
import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, User, normalize_email
from accounts.tasks import email_send
from marketplace.errors import DomainError
from marketplace.sql import Prepared, columns

VERIFY_EMAIL_SALT = "accounts.verify-email"
API_TOKEN_PREFIX = "mkt_"  # noqa: S105 — a public marker, not a secret


class AccountError(DomainError):
    """A request the accounts rules refuse."""


def user_sign_up(*, email: str, password: str, full_name: str = "") -> User:
    """Create an unverified user and e-mail a verification link; nothing is created if any check fails."""
    email = normalize_email(email)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": _("An account with this e-mail address already exists.")}, code="duplicate")
    validate_password(password, user=User(email=email, full_name=full_name))
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, full_name=full_name.strip())
    except IntegrityError as exc:  # a concurrent sign-up with the same address won the race
        raise ValidationError({"email": _("An account with this e-mail address already exists.")}) from exc
    user_send_verification_email(user=user)
    return user


def email_verification_token(*, user: User) -> str:
    return signing.dumps({"user": user.pk, "email": user.email}, salt=VERIFY_EMAIL_SALT)


def email_queue(*, to: str, subject: str, template: str, context: dict[str, Any]) -> None:
    """Render now, send from a worker once the surrounding transaction commits."""
    body = render_to_string(template, context)
    email_send.delay_on_commit(to=[to], subject=str(subject), body=body)  # type: ignore[attr-defined]


def user_send_verification_email(*, user: User) -> None:
    link = settings.SITE_URL.rstrip("/") + reverse("accounts:verify-email", args=[email_verification_token(user=user)])
    context = {"user": user, "link": link, "valid_days": settings.EMAIL_VERIFICATION_MAX_AGE.days}
    email_queue(
        to=user.email,
        subject=_("Confirm your e-mail address"),
        template="accounts/email/verify_email.txt",
        context=context,
    )


def user_resend_verification(*, email: str) -> None:
    """Send a new link if the address belongs to an unverified account; say nothing either way."""
    user = User.objects.filter(email=normalize_email(email), email_verified_at__isnull=True).first()
    if user is not None:
        user_send_verification_email(user=user)


def user_profile_update(*, user: User, full_name: str) -> User:
    user.full_name = full_name.strip()
    user.save(update_fields=["full_name"])
    return user


def user_verify_email(*, token: str) -> User:
    """Mark the address in a verification link as verified; a link works once per address and expires."""
    try:
        data = signing.loads(token, salt=VERIFY_EMAIL_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise AccountError("link_expired", _("This link has expired. Ask for a new one below.")) from exc
    except signing.BadSignature as exc:
        raise AccountError("link_invalid", _("This link is not valid. Check that you copied all of it.")) from exc
    user = User.objects.filter(pk=data.get("user"), email=data.get("email")).first()
    if user is None:
        raise AccountError("link_invalid", _("This link is not valid. Check that you copied all of it."))
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user


def hash_api_key(key: str) -> str:
    """API keys carry 256 random bits, so a plain SHA-256 is a safe and constant-cost lookup key."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a named token; returns it with the key, which is never retrievable again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, e.g. the program that will use it.")})
    if user.api_tokens.filter(name=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": _("You already have an active token with this name.")})
    key = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user, name=name, prefix=key[: len(API_TOKEN_PREFIX) + 6], key_hash=hash_api_key(key)
            )
    except IntegrityError as exc:  # the same name created concurrently (a double click)
        raise ValidationError({"name": _("You already have an active token with this name.")}) from exc
    return token, key


# Recording every use would add a write to every API request; minute precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def user_for_api_key(*, key: str) -> User | None:
    """Authenticate an API key: its active user, or None. Notes when the token was last used."""
    if not key.startswith(API_TOKEN_PREFIX):
        return None
    with connection.cursor() as cursor:
        row = _token_statement().run(cursor, [hash_api_key(key)]).fetchone()
    if row is None:
        return None
    token_id, last_used_at, *user_values = row
    now = timezone.now()
    if last_used_at is None or now - last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return columns(User, "u").load(user_values)


@functools.cache
def _token_statement() -> Prepared:
    """The live token with this hash and its active user, in one prepared statement: every API request asks it, and
    the ORM's query cost more than the rest of the authentication."""
    sql = f"""
SELECT t.id, t.last_used_at, {columns(User, "u").sql}
FROM {ApiToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id
WHERE t.key_hash = %s AND t.revoked_at IS NULL AND u.is_active
"""  # noqa: S608 - only the models' table and column names are formatted in
    return Prepared("api_token_user", sql, ["text"])


def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token at once; revoking twice changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
