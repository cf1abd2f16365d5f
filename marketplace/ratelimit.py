"""Fixed-window counters in Redis (the Django cache): the one rate-limit mechanism of the site."""

from datetime import timedelta

from django.core.cache import cache


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
    """Count one event; False once more than `limit` happened in the window."""
    return hit(key, window=window) <= limit
