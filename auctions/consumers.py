"""`/ws/auctions/{id}/`: a snapshot on connect, then every event in `seq` order; bids and resync over the socket.

Broadcast frames come from the process's hub (auctions.realtime), not through Channels' dispatch; only what the
client sends passes through the consumer's handlers.
"""

import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from accounts.models import User
from auctions import broadcast, realtime, selectors, services
from auctions.models import Auction

NOT_FOUND = 4404
TRY_AGAIN_LATER = 1013
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
RESYNC_PAGE = 1000
MAX_MESSAGE_CHARS = 4096  # a bid or a resync is under 200
MAX_MESSAGES_PER_SECOND = 20  # a person bids a few times a minute; a flood costs only its own socket


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


class AuctionConsumer(AsyncWebsocketConsumer):
    # No channel layer: events arrive through the hub, so no per-socket layer channel or receive loop is needed.
    channel_layer_alias = "none"
    auction_id: int
    watcher: realtime.Watcher | None = None
    channels_joined: tuple[str, ...] = ()
    window_start: float = 0.0
    window_count: int = 0

    @property
    def user(self) -> User | AnonymousUser:
        return self.scope.get("user") or AnonymousUser()

    async def connect(self) -> None:
        self.auction_id = int(self.scope["url_route"]["kwargs"]["pk"])
        await self.accept()
        self.watcher = realtime.Watcher(self._send_text, self._close, realtime.raw_socket(self.base_send))
        joined = [broadcast.channel(self.auction_id)]
        if self.user.is_authenticated:
            joined.append(broadcast.user_channel(self.user.pk))
        try:
            for channel in joined:  # subscribe first, then read the snapshot: no event can fall in between
                await realtime.hub().join(channel, self.watcher)
                self.channels_joined += (channel,)
        except (RedisError, OSError):
            await self.close(code=TRY_AGAIN_LATER)  # the client retries with backoff
            return
        snapshot = await database_sync_to_async(self._snapshot)()
        if snapshot is None:
            await self.close(code=NOT_FOUND)
            return
        await self.send(text_data=_dumps(snapshot))
        self.watcher.start(since=snapshot["seq"])

    async def disconnect(self, code: int) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            for channel in self.channels_joined:
                await realtime.hub().leave(channel, self.watcher)

    async def _send_text(self, frame: str) -> None:
        await self.send(text_data=frame)

    async def _close(self, code: int) -> None:
        await self.close(code=code)

    def _snapshot(self) -> dict[str, Any] | None:
        try:
            auction = selectors.auction_get(auction_id=self.auction_id)
        except Auction.DoesNotExist:
            return None
        user = self.user if isinstance(self.user, User) else None
        state = selectors.snapshot(auction=auction, user=user)
        bids = selectors.bid_list(auction=auction).order_by("-seq")[:20]
        recent = [selectors.ledger_entry(bid=bid) for bid in reversed(bids)]
        return {
            "type": "snapshot",
            "seq": state["seq"],
            "server_time": state["server_time"],
            "auction": state,
            "bids": recent,
        }

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if len(text_data or bytes_data or "") > MAX_MESSAGE_CHARS:
            await self.close(code=MESSAGE_TOO_BIG)
            return
        if not self._within_rate():
            await self._reply({"type": "error", "code": "rate_limited", "message": _("Too many messages.")})
            await self.close(code=POLICY_VIOLATION)
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self._reply({"type": "error", "code": "invalid", "message": _("Send a JSON object.")})
            return
        if message.get("type") == "bid":
            await self._bid(message)
        elif message.get("type") == "resync":
            await self._resync(message.get("since_seq"))
        else:
            await self._reply({"type": "error", "code": "unknown_type", "message": _("Send a bid or a resync.")})

    def _within_rate(self) -> bool:
        """At most MAX_MESSAGES_PER_SECOND per one-second window, per socket."""
        now = time.monotonic()
        if now - self.window_start >= 1:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        return self.window_count <= MAX_MESSAGES_PER_SECOND

    async def _reply(self, message: dict[str, Any]) -> None:
        await self.send(text_data=_dumps(message))

    async def _bid(self, message: dict[str, Any]) -> None:
        request_id = str(message.get("request_id") or "")[:64]
        if not isinstance(self.user, User):
            rejected = {"code": "login_required", "message": _("Sign in to bid.")}
            await self._reply({"type": "bid.rejected", "request_id": request_id, **rejected})
            return
        try:
            outcome = await database_sync_to_async(services.bid_place)(
                user=self.user, auction_id=self.auction_id, amount=message.get("amount"), request_key=request_id
            )
        except services.AuctionError as error:
            reply = {"type": "bid.rejected", "request_id": request_id, "code": error.code, "message": error.message}
            await self._reply({**reply, **error.extra})
            return
        seq = outcome.bids[0].seq if outcome.bids else outcome.auction.seq
        await self._reply({"type": "bid.accepted", "request_id": request_id, "seq": seq})

    async def _resync(self, since: Any) -> None:
        if not isinstance(since, int) or since < 0:
            await self._reply({"type": "error", "code": "invalid", "message": _("since_seq must be an integer.")})
            return
        last = since
        while True:
            events = await database_sync_to_async(self._events)(last)
            for event in events:
                await self.send(text_data=_dumps(event))
            if events:
                last = events[-1]["seq"]
            if len(events) < RESYNC_PAGE:
                break
        await self._reply({"type": "resync.done", "seq": last})

    def _events(self, since: int) -> list[dict[str, Any]]:
        auction = Auction(pk=self.auction_id)
        return selectors.event_list(auction=auction, since_seq=since, limit=RESYNC_PAGE)
