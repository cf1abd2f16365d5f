"""Fan-out of auction events inside one ASGI process.

Each process holds one Redis pub/sub connection and subscribes to an auction's channel while it has watchers of
it. An event arrives once, already serialized by the publisher, and goes to every local watcher as the same text
frame: no per-watcher serialization and no trip through the Channels consumer dispatch (which hops to a thread
per message to tidy database connections that a broadcast never uses). Each watcher has a bounded queue and its
own writer task, so a slow client cannot hold up the others; one that falls too far behind is disconnected and
resyncs from `seq` when it reconnects.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as redis
from django.conf import settings

log = logging.getLogger(__name__)
QUEUE_LIMIT = 512  # frames a watcher may lag behind before it is dropped (it resyncs on reconnect)
TOO_SLOW = 4008


class Watcher:
    """One WebSocket's outbox. Frames wait until `start` (after the snapshot); older ones than it are dropped."""

    def __init__(
        self, send: Callable[[str], Coroutine[Any, Any, None]], close: Callable[[int], Coroutine[Any, Any, None]]
    ) -> None:
        self.send, self.close = send, close
        self.queue: asyncio.Queue[tuple[int | None, str]] = asyncio.Queue(QUEUE_LIMIT)
        self.since: int | None = None
        self.writer: asyncio.Task[None] | None = None

    def deliver(self, seq: int | None, text: str) -> None:
        try:
            self.queue.put_nowait((seq, text))
        except asyncio.QueueFull:
            if self.writer is not None:
                self.writer.cancel()
                asyncio.get_running_loop().create_task(self.close(TOO_SLOW))

    def start(self, since: int) -> None:
        self.since = since
        self.writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while True:
            seq, text = await self.queue.get()
            if seq is None or self.since is None or seq > self.since:
                await self.send(text)

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.cancel()


class Hub:
    """The process's subscriptions: channel → local watchers."""

    def __init__(self) -> None:
        self.rooms: dict[str, set[Watcher]] = {}
        self.client: redis.Redis | None = None
        self.pubsub: redis.client.PubSub | None = None
        self.reader: asyncio.Task[None] | None = None

    async def join(self, channel: str, watcher: Watcher) -> None:
        room = self.rooms.setdefault(channel, set())
        room.add(watcher)
        if len(room) == 1:
            await self._pubsub().subscribe(channel)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.get_running_loop().create_task(self._read())

    async def leave(self, channel: str, watcher: Watcher) -> None:
        room = self.rooms.get(channel)
        if room is None:
            return
        room.discard(watcher)
        if not room:
            del self.rooms[channel]
            with contextlib.suppress(redis.RedisError):
                await self._pubsub().unsubscribe(channel)

    def watching(self, channel: str) -> int:
        return len(self.rooms.get(channel, ()))

    def _pubsub(self) -> "redis.client.PubSub":
        if self.pubsub is None:
            self.client = redis.Redis.from_url(settings.REDIS_URL)
            self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        return self.pubsub

    async def _read(self) -> None:
        pubsub = self._pubsub()
        while self.rooms:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except (redis.RedisError, OSError):
                log.warning("auction event subscription lost; retrying (clients resync from seq)")
                await asyncio.sleep(1)
                with contextlib.suppress(redis.RedisError, OSError):
                    await pubsub.subscribe(*self.rooms)
                continue
            if message is None:
                continue
            channel = message["channel"].decode()
            text = message["data"].decode()
            seq = json.loads(text).get("seq")  # parsed once per process, not per watcher
            for watcher in list(self.rooms.get(channel, ())):
                watcher.deliver(seq, text)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """The hub of the running event loop (one per ASGI process)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
