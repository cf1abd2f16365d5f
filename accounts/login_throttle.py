"""Brute-force protection for password logins: failures counted per account and per client IP in Redis."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(email: str, ip: str) -> tuple[str, str]:
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"login-fail:account:{account}", f"login-fail:ip:{ip}"


def login_is_locked(*, email: str, ip: str) -> bool:
    account_key, ip_key = _keys(email, ip)
    counts = cache.get_many([account_key, ip_key])
    return (
        counts.get(account_key, 0) >= settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT
        or counts.get(ip_key, 0) >= settings.LOGIN_FAILURE_LIMIT_PER_IP
    )


def login_failure_record(*, email: str, ip: str) -> None:
    window = int(settings.LOGIN_FAILURE_WINDOW.total_seconds())
    for key in _keys(email, ip):
        cache.add(key, 0, timeout=window)  # the window starts at the first failure
        cache.incr(key)


def login_failures_clear(*, email: str, ip: str) -> None:
    cache.delete(_keys(email, ip)[0])


def lockout_minutes() -> int:
    return int(settings.LOGIN_FAILURE_WINDOW.total_seconds() // 60)
