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


class _Counted:
    """DRF's throttle scopes and rates (`AnonRateThrottle`, `UserRateThrottle`) on a fixed-window counter: one INCR
    per request, where DRF's own throttles read, unpickle, trim, pickle and write back the list of every request's
    time in the window (1,200 of them for an active API user). Fails open while Redis is down."""

    rate: str | None
    num_requests: int
    duration: int
    key: str | None

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None or (key := self.get_cache_key(request, view)) is None:  # type: ignore[attr-defined]
            return True
        self.key = key
        try:
            return hit(key, window=timedelta(seconds=self.duration)) <= self.num_requests
        except (RedisError, OSError):
            log.warning("API throttle not counted: Redis unreachable")
            return True

    def wait(self) -> float | None:
        """Seconds until the window ends (the Retry-After header)."""
        try:
            left = int(_client().ttl(cache.make_and_validate_key(cast(str, self.key))))
        except (RedisError, OSError):
            return None
        return float(left) if left > 0 else None


class AnonThrottle(_Counted, AnonRateThrottle):
    """DRF's anonymous-rate throttle (per client address) on a counter."""


class UserThrottle(_Counted, UserRateThrottle):
    """DRF's per-user throttle on a counter."""
