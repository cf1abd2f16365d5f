"""The benchmark's baseline: a plain Channels consumer that joins a group per auction and relays each `group_send`
(the textbook pattern, serializing per watcher and dispatching every message through the consumer)."""

import json
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class GroupConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = f"auction-{self.scope['url_route']['kwargs']['pk']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "snapshot"}))  # as ours does: the client counts from here

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def auction_event(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message["event"]))


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/auctions/<int:pk>/", GroupConsumer.as_asgi())])})
