"""`Authorization: Token <key>` authentication for the REST API."""

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import User
from accounts.services import user_for_api_key


def api_key_from_header(value: str) -> str | None:
    """The key in a `Token <key>` header value, or None when the header uses another scheme."""
    scheme, _sep, key = value.strip().partition(" ")
    return key.strip() if scheme.lower() == "token" else None


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        key = api_key_from_header(header)
        if key is None:
            return None
        user = user_for_api_key(key=key) if key else None
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API token."))
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
