"""Template context for every page: the signed-in user's unread notification count (for the menu)."""

from typing import Any

from django.http import HttpRequest

from auctions import selectors


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": selectors.unread_notifications(user=user)}
