"""Auction events to every watcher: each event is serialized once and published on the auction's Redis channel
after the transaction that wrote it commits (the WebSocket servers subscribe and forward)."""

import json
import logging
from collections.abc import Sequence
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

log = logging.getLogger(__name__)
_client: redis.Redis | None = None


def namespace() -> str:
    """Pub/sub channels are server-wide (not per Redis database): name them after the site's database, so two
    sites or test runs sharing a Redis server never hear each other's auctions."""
    return str(settings.DATABASES["default"]["NAME"])


def channel(auction_id: int) -> str:
    return f"{namespace()}:auction:{auction_id}"


def user_channel(user_id: int) -> str:
    """Personal messages (`outbid`) to every socket of one user."""
    return f"{namespace()}:user:{user_id}"


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL)
    return _client


def publish(name: str, event: dict[str, Any]) -> None:
    """Best effort: a lost event is recovered by clients from the `seq` gap (the event is in the database)."""
    try:
        redis_client().publish(name, json.dumps(event, separators=(",", ":")))
    except redis.RedisError:
        log.warning("%s: %s %s not broadcast; clients will resync", name, event.get("type"), event.get("seq"))


Messages = Sequence[tuple[str, dict[str, Any]]]


def publish_many(messages: Messages, queued: Messages = ()) -> None:
    """`publish` for several messages in one round trip, in order; `queued` `(list, item)` pairs are appended to
    Redis lists in the same trip (work for a worker, such as outbid notices)."""
    try:
        pipeline = redis_client().pipeline(transaction=False)
        for name, message in messages:
            pipeline.publish(name, json.dumps(message, separators=(",", ":")))
        for name, item in queued:
            pipeline.rpush(name, json.dumps(item, separators=(",", ":")))
        pipeline.execute()
    except redis.RedisError:
        log.warning("%s messages and %s queued items not sent; clients will resync", len(messages), len(queued))


def on_commit(auction_id: int, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: publish(channel(auction_id), event))


def on_commit_to_user(user_id: int, message: dict[str, Any]) -> None:
    transaction.on_commit(lambda: publish(user_channel(user_id), message))


def on_commit_many(messages: Messages, queued: Messages = ()) -> None:
    """Publish `(channel, message)` pairs and queue `(list, item)` pairs in one round trip once the transaction
    commits (a bid's events, the outbid notice, and the outbid buyer's notification for a worker)."""
    if messages or queued:
        transaction.on_commit(lambda: publish_many(messages, queued))
