"""/api/v1/me/ and token endpoints: authentication, shapes, error codes."""

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def test_me_requires_authentication(api):
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_me_with_token_shows_account_and_organizations(api, member):
    _token, key = services.api_token_create(user=member, name="robot")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = api.get("/api/v1/me/").json()
    assert body["email"] == "trader@jade.example.com"
    assert body["email_verified"] is True
    assert body["organizations"] == [
        {
            "id": member.organizations.get().pk,
            "name": "Jade River AMC",
            "kind": "amc",
            "is_seller": True,
            "role": "trader",
        }
    ]


@pytest.mark.parametrize("header", ["Token mkt_nonsense", "Token ", "Token revoked"])
def test_bad_tokens_get_401_with_a_code(api, make_user, header):
    user = make_user()
    token, key = services.api_token_create(user=user, name="robot")
    services.api_token_revoke(token=token)
    api.credentials(HTTP_AUTHORIZATION=header.replace("revoked", key))
    response = api.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_token_lifecycle_over_the_api(api, make_user):
    user = make_user()
    api.force_authenticate(user)
    created = api.post("/api/v1/me/tokens/", {"name": "robot"}, format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    listed = api.get("/api/v1/me/tokens/").json()
    assert [t["name"] for t in listed] == ["robot"] and "key" not in listed[0]
    with_key = APIClient()
    with_key.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert with_key.get("/api/v1/me/").status_code == 200
    assert api.delete(f"/api/v1/me/tokens/{created.json()['id']}/").status_code == 204
    assert with_key.get("/api/v1/me/").status_code == 401


def test_a_token_cannot_mint_or_revoke_tokens(api, make_user):
    user = make_user()
    token, key = services.api_token_create(user=user, name="robot")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.post("/api/v1/me/tokens/", {"name": "successor"}, format="json").status_code == 403
    assert api.delete(f"/api/v1/me/tokens/{token.pk}/").status_code == 403
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_token_create_errors_name_the_field(api, make_user):
    api.force_authenticate(make_user())
    api.post("/api/v1/me/tokens/", {"name": "robot"}, format="json")
    duplicate = api.post("/api/v1/me/tokens/", {"name": "robot"}, format="json")
    assert duplicate.status_code == 400
    assert duplicate.json()["code"] == "invalid" and duplicate.json()["field"] == "name"
    missing = api.post("/api/v1/me/tokens/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["field"] == "name"
    assert ApiToken.objects.count() == 1


def test_other_users_tokens_are_invisible(api, make_user):
    owner, other = make_user("owner@example.com"), make_user("other@example.com")
    token, _key = services.api_token_create(user=owner, name="robot")
    api.force_authenticate(other)
    assert api.get("/api/v1/me/tokens/").json() == []
    missing = api.delete(f"/api/v1/me/tokens/{token.pk}/")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "Not found."}


def test_session_writes_need_csrf(make_user):
    user = make_user()
    api = APIClient(enforce_csrf_checks=True)
    api.login(username=user.email, password="correct-horse-battery")
    response = api.post("/api/v1/me/tokens/", {"name": "robot"}, format="json")
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_me_patch_updates_name_only(api, make_user):
    user = make_user()
    api.force_authenticate(user)
    body = api.patch(
        "/api/v1/me/", {"full_name": "Li Wei", "email": "evil@example.com", "is_staff": True}, format="json"
    ).json()
    assert body["full_name"] == "Li Wei"
    user.refresh_from_db()
    assert user.email == "buyer@example.com" and not user.is_staff
