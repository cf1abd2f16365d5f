"""Fixed-window counters in Redis (the Django cache): the one rate-limit mechanism of the site.

Limits fail open: while Redis is unreachable requests are counted as allowed (and a warning is logged), so an
outage of the cache never stops bids or pages. The login lockout is the exception: it calls `hit` and so fails
closed (password sign-in is refused with a message while Redis is down; API tokens and open sessions keep
working).
"""

import logging
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

log = logging.getLogger(__name__)


def hit(key: str, *, window: timedelta) -> int:
    """Count one event under `key`; returns how many happened in the current window (which starts at the first)."""
    seconds = int(window.total_seconds())
    cache.add(key, 0, timeout=seconds)
    try:
        return int(cache.incr(key))
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=seconds)
        return 1


def allow(key: str, *, limit: int, window: timedelta) -> bool:
    """Count one event; False once more than `limit` happened in the window. True while Redis is down."""
    try:
        return hit(key, window=window) <= limit
    except (RedisError, OSError):
        log.warning("rate limit %s not counted: Redis unreachable", key.split(":")[0])
        return True


class _FailOpen:
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
