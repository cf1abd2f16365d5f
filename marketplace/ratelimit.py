"""Fixed-window counters in Redis (the Django cache): the one rate-limit mechanism of the site.

Limits fail open: while Redis is unreachable requests are counted as allowed (and a warning is logged), so an
outage of the cache never stops bids or pages. The login lockout is the exception: it calls `hit` and so fails
closed (password sign-in is refused with a message while Redis is down; API tokens and open sessions keep
working).
"""

import logging
from datetime import timedelta
from typing import Any, cast

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.redis import RedisSerializer
from redis.exceptions import RedisError
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

log = logging.getLogger(__name__)


def hit(key: str, *, window: timedelta) -> int:
    """Count one event under `key`; returns how many happened in the current window (which starts at the first).

    One round trip: INCR, then EXPIRE NX (Redis 7+) gives a new counter its window and leaves a running one's alone,
    atomically (MULTI), so no counter is ever left without an expiry. The key is the cache's (`cache.delete` and
    `cache.decr` work on it)."""
    name = cache.make_and_validate_key(key)
    pipeline = _client().pipeline(transaction=True)
    pipeline.incr(name)
    pipeline.expire(name, int(window.total_seconds()), nx=True)
    count, _ = pipeline.execute()
    return int(count)


_clients: dict[str, redis.Redis] = {}


def _client() -> redis.Redis:
    """One client per process for the cache's Redis (Django's RedisCache builds a client, and redis-py its callback
    table, on every call: most of a counter's CPU). Follows a changed CACHES setting, as `cache` does."""
    location = settings.CACHES["default"]["LOCATION"]
    url = location.split(",")[0] if isinstance(location, str) else location[0]  # writes go to the first server
    if (client := _clients.get(url)) is None:
        client = _clients[url] = redis.Redis.from_url(url)
    return client


def allow(key: str, *, limit: int, window: timedelta) -> bool:
    """Count one event; False once more than `limit` happened in the window. True while Redis is down."""
    try:
        return hit(key, window=window) <= limit
    except (RedisError, OSError):
        log.warning("rate limit %s not counted: Redis unreachable", key.split(":")[0])
        return True


class _ThrottleCache:
    """The cache's `get` and `set` as DRF's throttles use them (same keys, same serialization), on the per-process
    client: every API request reads and writes its throttle history, and `cache` builds a Redis client per call."""

    serializer = RedisSerializer()

    def get(self, key: str, default: Any = None) -> Any:
        value = cast(bytes | None, _client().get(cache.make_and_validate_key(key)))
        return default if value is None else self.serializer.loads(value)

    def set(self, key: str, value: Any, timeout: int) -> None:
        _client().set(cache.make_and_validate_key(key), self.serializer.dumps(value), ex=int(timeout))


class _FailOpen:
    cache: Any = _ThrottleCache()

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except (RedisError, OSError):
            log.warning("API throttle not counted: Redis unreachable")
            return True


class AnonThrottle(_FailOpen, AnonRateThrottle):
    """DRF's anonymous-rate throttle, failing open while Redis is down."""


class UserThrottle(_FailOpen, UserRateThrottle):
    """DRF's per-user throttle, failing open while Redis is down."""
