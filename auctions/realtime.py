"""Fan-out of auction events inside one ASGI process.

Each process holds one Redis pub/sub connection and subscribes to an auction's channel while it has watchers of
it. An event arrives once, already serialized by the publisher, and goes to every local watcher as the same text
frame: no per-watcher serialization and no trip through the Channels consumer dispatch (which hops to a thread
per message to tidy database connections that a broadcast never uses). Each watcher has a bounded queue and its
own writer task, so a slow client cannot hold up the others; one that falls too far behind is disconnected and
resyncs from `seq` when it reconnects. If Redis goes away every local socket is closed (1012), so clients show
that they are reconnecting and, once Redis is back, resync from the database; bids keep working meanwhile.

Watcher counts: every few seconds each process writes its local count into a Redis hash per auction and tells
its own watchers the fresh total of all processes.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as redis
from django.conf import settings

log = logging.getLogger(__name__)
QUEUE_LIMIT = 512  # frames a watcher may lag behind before it is dropped (it resyncs on reconnect)
TOO_SLOW = 4008
SERVICE_RESTART = 1012
COUNT_EVERY = 2.0  # seconds between watcher-count refreshes


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
            self.drop(TOO_SLOW)

    def drop(self, code: int) -> None:
        self.stop()
        asyncio.get_running_loop().create_task(self.close(code))

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
        self.id = uuid.uuid4().hex[:12]
        self.rooms: dict[str, set[Watcher]] = {}
        self.client: redis.Redis | None = None
        self.pubsub: redis.client.PubSub | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.announced: dict[str, int] = {}

    async def join(self, channel: str, watcher: Watcher) -> None:
        """Add a watcher, subscribing the process to the channel if it is the first; raises if Redis is down."""
        room = self.rooms.setdefault(channel, set())
        room.add(watcher)
        if len(room) == 1:
            try:
                await self._pubsub().subscribe(channel)
            except (redis.RedisError, OSError):
                del self.rooms[channel]
                raise
        if self.pubsub is not None and self.pubsub.connection is not None:  # read only once a subscription is up
            self._ensure("reader", self._read)
            self._ensure("counter", self._count)

    def _ensure(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start the background task unless it runs (each stops by itself once the process has no rooms)."""
        task = self.tasks.get(name)
        if task is None or task.done():
            self.tasks[name] = asyncio.get_running_loop().create_task(work())

    async def leave(self, channel: str, watcher: Watcher) -> None:
        room = self.rooms.get(channel)
        if room is None:
            return
        room.discard(watcher)
        if not room:
            del self.rooms[channel]
            self.announced.pop(channel, None)
            with contextlib.suppress(redis.RedisError, OSError):
                await self._pubsub().unsubscribe(channel)
                await self._redis().hdel(f"{channel}:watchers", self.id)

    def watching(self, channel: str) -> int:
        return len(self.rooms.get(channel, ()))

    def _redis(self) -> redis.Redis:
        if self.client is None:
            self.client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
        return self.client

    def _pubsub(self) -> "redis.client.PubSub":
        if self.pubsub is None:
            self.pubsub = self._redis().pubsub(ignore_subscribe_messages=True)
        return self.pubsub

    async def _read(self) -> None:
        pubsub = self._pubsub()
        while self.rooms:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except (redis.RedisError, OSError, RuntimeError):  # RuntimeError: the connection was reset under us
                self._lost()
                return
            if message is None:
                continue
            try:
                channel, text = message["channel"].decode(), message["data"].decode()
                seq = json.loads(text).get("seq")  # parsed once per process, not per watcher
            except (ValueError, AttributeError):
                log.exception("unreadable auction message %r", message)
                continue
            for watcher in list(self.rooms.get(channel, ())):
                watcher.deliver(seq, text)

    def _lost(self) -> None:
        """Redis went away: close every local socket, so that clients reconnect and resync when it is back."""
        log.warning("Redis subscription lost: closing %d rooms' sockets", len(self.rooms))
        rooms, self.rooms = self.rooms, {}
        for room in rooms.values():
            for watcher in room:
                watcher.drop(SERVICE_RESTART)
        self.pubsub, self.client = None, None
        self.announced.clear()

    async def _count(self) -> None:
        while self.rooms:
            await asyncio.sleep(COUNT_EVERY)
            for channel, room in list(self.rooms.items()):
                if ":user:" in channel or not room:
                    continue
                try:
                    total = await self._total(channel, len(room))
                except (redis.RedisError, OSError):
                    break  # the reader notices the loss and closes the sockets
                if total != self.announced.get(channel):
                    self.announced[channel] = total
                    text = json.dumps({"type": "watchers", "count": total}, separators=(",", ":"))
                    for watcher in list(room):
                        watcher.deliver(None, text)

    async def _total(self, channel: str, local: int) -> int:
        """Record this process's count and add up every process's fresh one (a dead process's goes stale)."""
        key, now = f"{channel}:watchers", time.time()
        client = self._redis()
        await client.hset(key, self.id, f"{local}:{now}")
        await client.expire(key, 60)
        total, stale = 0, []
        for process, value in (await client.hgetall(key)).items():
            count, at = (value.decode() if isinstance(value, bytes) else value).split(":")
            if now - float(at) > 3 * COUNT_EVERY:
                stale.append(process)
            else:
                total += int(count)
        if stale:
            await client.hdel(key, *stale)
        return total


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """The hub of the running event loop (one per ASGI process)."""
    loop = asyncio.get_running_loop()
    if loop not in _hubs:
        _hubs[loop] = Hub()
    return _hubs[loop]
