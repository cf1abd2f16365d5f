"""Account pages through Django's test client: sign-up errors, login rules and throttling, tokens."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import ApiToken, User

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "taken@example.com", "password": "long-enough-secret-42"}, "email", "already exists"),
        ({"email": "not-an-email", "password": "long-enough-secret-42"}, "email", "valid email"),
        ({"email": "new@example.com", "password": "abc"}, "password", "too short"),
        ({"email": "new@example.com", "password": "password1234"}, "password", "too common"),
        ({"email": "", "password": "long-enough-secret-42"}, "email", "required"),
    ],
)
def test_sign_up_shows_field_errors_and_creates_nothing(client, make_user, data, field, message):
    make_user("taken@example.com")
    response = client.post(reverse("accounts:signup"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert User.objects.count() == 1
    assert not mail.outbox


def test_sign_up_page_success_sends_mail(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:signup"), {"email": "new@example.com", "password": "long-enough-secret-42"}
        )
    assert response.status_code == 200
    assert "Check your e-mail" in response.content.decode()
    assert User.objects.filter(email="new@example.com", email_verified_at__isnull=True).exists()
    assert len(mail.outbox) == 1


def test_unverified_user_cannot_log_in_and_is_told_why(client, make_user):
    make_user("new@example.com", PASSWORD, verified=False)
    response = client.post(reverse("accounts:login"), {"username": "new@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert "confirm your e-mail address first" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_is_case_insensitive_on_email(client, make_user):
    make_user("buyer@example.com", PASSWORD)
    response = client.post(reverse("accounts:login"), {"username": "Buyer@Example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")


def test_ten_wrong_passwords_get_throttled_with_a_clear_message(client, make_user):
    make_user("buyer@example.com", PASSWORD)
    pages = [
        client.post(
            reverse("accounts:login"), {"username": "buyer@example.com", "password": f"wrong-{i}"}
        ).content.decode()
        for i in range(10)
    ]
    assert "not correct" in pages[0]
    assert "Too many failed sign-in attempts" in pages[-1]
    assert sum("Too many failed sign-in attempts" in page for page in pages) == 5
    # Locked means locked: even the right password is refused until the window passes.
    response = client.post(reverse("accounts:login"), {"username": "buyer@example.com", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_one_ip_spraying_many_accounts_is_throttled(client, make_user, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 8
    make_user("victim@example.com", PASSWORD)
    for i in range(8):
        client.post(reverse("accounts:login"), {"username": f"guess{i}@example.com", "password": "nope-nope-nope"})
    response = client.post(reverse("accounts:login"), {"username": "victim@example.com", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_successful_login_resets_the_account_counter(client, make_user):
    make_user("buyer@example.com", PASSWORD)
    for _ in range(4):
        client.post(reverse("accounts:login"), {"username": "buyer@example.com", "password": "wrong-password"})
    assert (
        client.post(reverse("accounts:login"), {"username": "buyer@example.com", "password": PASSWORD}).status_code
        == 302
    )
    client.logout()
    for _ in range(4):
        client.post(reverse("accounts:login"), {"username": "buyer@example.com", "password": "wrong-password"})
    assert (
        client.post(reverse("accounts:login"), {"username": "buyer@example.com", "password": PASSWORD}).status_code
        == 302
    )


def test_profile_requires_login(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302 and reverse("accounts:login") in response.url


def test_profile_shows_memberships_and_saves_name(client, member):
    client.force_login(member)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "Jade River AMC" in page and "Trader" in page
    response = client.post(reverse("accounts:profile"), {"full_name": "Chen <b>Jun</b>"})
    assert response.status_code == 302
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "Chen &lt;b&gt;Jun&lt;/b&gt;" in page  # escaped, never rendered as markup


def test_token_is_shown_once_and_can_be_revoked(client, make_user):
    user = make_user()
    client.force_login(user)
    page = client.post(reverse("accounts:token-create"), {"name": "robot"}).content.decode()
    token = ApiToken.objects.get(user=user)
    assert 'id="new-token-key"' in page and token.prefix in page
    assert 'id="new-token-key"' not in client.get(reverse("accounts:profile")).content.decode()
    client.post(reverse("accounts:token-revoke", args=[token.pk]))
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_cannot_revoke_someone_elses_token(client, make_user):
    owner, other = make_user("owner@example.com"), make_user("other@example.com")
    token = ApiToken.objects.create(user=owner, name="t", prefix="mkt_abc", key_hash="0" * 64)
    client.force_login(other)
    assert client.post(reverse("accounts:token-revoke", args=[token.pk])).status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_forms_are_csrf_protected(make_user):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(
        reverse("accounts:signup"), {"email": "x@example.com", "password": "long-enough-secret-42"}
    )
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.com").exists()


def test_password_reset_sends_a_working_link(client, make_user, django_capture_on_commit_callbacks):
    make_user("buyer@example.com", PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password-reset"), {"email": "buyer@example.com"})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/password-reset/" in line)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    new_password = "another-long-secret-99"
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    assert User.objects.get(email="buyer@example.com").check_password(new_password)


def test_admin_login_is_throttled_too(client, make_user):
    make_user("root@example.com", PASSWORD, is_staff=True, is_superuser=True)
    for i in range(5):
        client.post("/admin/login/", {"username": "root@example.com", "password": f"wrong-{i}"})
    response = client.post("/admin/login/", {"username": "root@example.com", "password": PASSWORD})
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("accounts:signup", {"email": "victim@example.com", "password": "long-enough-secret-42"}),
        ("accounts:resend-verification", {"email": "victim@example.com"}),
        ("accounts:password-reset", {"email": "victim@example.com"}),
    ],
)
def test_forms_that_send_mail_cannot_flood_an_inbox(client, make_user, url, data, django_capture_on_commit_callbacks):
    make_user("victim@example.com", PASSWORD, verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        pages = [client.post(reverse(url), data).content.decode() for _ in range(5)]
    assert sum("Too many requests" in page for page in pages) == 2  # 3 per address per hour
    assert len(mail.outbox) <= 3


def test_password_sign_in_says_it_is_unavailable_while_redis_is_down(client, make_user, settings):
    make_user("buyer@example.com", PASSWORD)
    settings.CACHES = {  # a port nothing listens on: the attempt counter is unreachable
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:9/0"}
    }
    response = client.post(reverse("accounts:login"), {"username": "buyer@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert "briefly unavailable" in response.content.decode()
    assert "_auth_user_id" not in client.session  # fails closed: no uncounted password checks
