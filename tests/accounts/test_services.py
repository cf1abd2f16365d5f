"""Sign-up, e-mail verification and API tokens at the service layer."""

import pytest
from django.core import mail, signing
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import ApiToken, User
from accounts.services import user_for_api_key

pytestmark = pytest.mark.django_db


def test_sign_up_creates_unverified_user_and_sends_link(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.user_sign_up(email=" New.Buyer@Example.COM ", password="long-enough-secret-42", full_name="Li")
    assert user.email == "new.buyer@example.com"
    assert not user.email_verified
    assert user.check_password("long-enough-secret-42")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.buyer@example.com"]
    assert "/accounts/verify/" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("taken@example.com", "long-enough-secret-42", "email"),
        ("TAKEN@example.com", "long-enough-secret-42", "email"),
        ("fresh@example.com", "short", None),
        ("fresh@example.com", "1234567890123", None),
        ("fresh@example.com", "password123", None),
    ],
)
def test_sign_up_refuses_bad_input_and_creates_nothing(make_user, email, password, field):
    make_user("taken@example.com")
    with pytest.raises(ValidationError) as excinfo:
        services.user_sign_up(email=email, password=password)
    if field:
        assert field in excinfo.value.message_dict
    assert User.objects.count() == 1
    assert not mail.outbox


def test_verification_link_verifies_once_and_rejects_tampering(make_user):
    user = make_user("fresh@example.com", verified=False)
    token = services.email_verification_token(user=user)
    assert services.user_verify_email(token=token).email_verified
    first = User.objects.get(pk=user.pk).email_verified_at
    services.user_verify_email(token=token)
    assert User.objects.get(pk=user.pk).email_verified_at == first
    with pytest.raises(services.AccountError) as excinfo:
        services.user_verify_email(token=token[:-2] + "xx")
    assert excinfo.value.code == "link_invalid"


def test_verification_link_expires(make_user, settings):
    user = make_user("fresh@example.com", verified=False)
    token = signing.dumps({"user": user.pk, "email": user.email}, salt=services.VERIFY_EMAIL_SALT)
    settings.EMAIL_VERIFICATION_MAX_AGE = -1
    with pytest.raises(services.AccountError) as excinfo:
        services.user_verify_email(token=token)
    assert excinfo.value.code == "link_expired"


def test_link_for_a_changed_address_does_not_verify_the_new_one(make_user):
    user = make_user("old@example.com", verified=False)
    token = services.email_verification_token(user=user)
    User.objects.filter(pk=user.pk).update(email="new@example.com")
    with pytest.raises(services.AccountError):
        services.user_verify_email(token=token)


def test_api_token_is_stored_hashed_and_resolves_until_revoked(make_user):
    user = make_user()
    token, key = services.api_token_create(user=user, name="bidding robot")
    assert key.startswith("mkt_") and len(key) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.key_hash, stored.prefix) and key.startswith(stored.prefix)
    assert user_for_api_key(key=key) == user
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    services.api_token_revoke(token=token)
    assert user_for_api_key(key=key) is None
    assert user_for_api_key(key="mkt_" + "x" * 43) is None
    assert user_for_api_key(key="") is None


def test_api_token_names_are_unique_among_active_tokens(make_user):
    user = make_user()
    token, _key = services.api_token_create(user=user, name="robot")
    with pytest.raises(ValidationError):
        services.api_token_create(user=user, name="robot")
    with pytest.raises(ValidationError):
        services.api_token_create(user=user, name="   ")
    services.api_token_revoke(token=token)
    services.api_token_create(user=user, name="robot")
    assert user.api_tokens.count() == 2


def test_inactive_user_token_does_not_authenticate(make_user):
    user = make_user()
    _token, key = services.api_token_create(user=user, name="robot")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert user_for_api_key(key=key) is None
