"""A diagnostic WebSocket: echoes pings with the server time and who the connection is."""

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone


class PingConsumer(AsyncJsonWebsocketConsumer):
    """`{"type": "ping"}` → `{"type": "pong", "server_time": ..., "user": email or null}`."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "ping":
            await self.send_json({"type": "error", "code": "unknown_type", "message": 'Send {"type": "ping"}.'})
            return
        user = self.scope.get("user")
        await self.send_json(
            {
                "type": "pong",
                "server_time": timezone.now().isoformat().replace("+00:00", "Z"),
                "user": user.email if user is not None and user.is_authenticated else None,
                "echo": content.get("data"),
            }
        )

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None
