"""WebSocket authentication: the session cookie (browsers) or `Authorization: Token <key>` (programs)."""

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator

from accounts.authentication import api_key_from_header
from accounts.services import user_for_api_key


class _ApiTokenMiddleware(BaseMiddleware):
    """Replaces the session user when a token header is sent; a bad token refuses the handshake."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        header = headers.get(b"authorization", b"").decode("latin-1")
        key = api_key_from_header(header) if header else None
        if key is not None:
            user = await database_sync_to_async(user_for_api_key)(key=key)
            if user is None:
                await send({"type": "websocket.close", "code": 4401})
                return None
            scope = {**scope, "user": user}
        return await super().__call__(scope, receive, send)


def WebSocketAuthMiddleware(inner: Any) -> Any:  # noqa: N802 — reads like the Channels stacks it wraps
    return AuthMiddlewareStack(_ApiTokenMiddleware(inner))


class OriginValidator:
    """Browsers always send `Origin` on WebSockets, and it must be one of ALLOWED_HOSTS. Programs may leave it
    out; their cookies are then dropped, so such a connection authenticates only by token (no cross-site
    use of a browser session)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.checked = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = scope.get("headers", [])
        if any(name == b"origin" for name, _value in headers):
            return await self.checked(scope, receive, send)
        scope = {**scope, "headers": [(name, value) for name, value in headers if name != b"cookie"]}
        return await self.inner(scope, receive, send)
