"""Brute-force protection for password logins: attempts counted per account and per client IP in Redis.

An attempt is counted *before* the password is checked, so parallel requests cannot all slip under the limit.
"""

import contextlib
import hashlib

from django.conf import settings
from django.core.cache import cache

from marketplace.ratelimit import hit


def _keys(email: str, ip: str) -> tuple[str, str]:
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"login-attempts:account:{account}", f"login-attempts:ip:{ip}"


def login_attempt_allowed(*, email: str, ip: str) -> bool:
    """Count this attempt; False once the account or the IP has used up its attempts in the window."""
    account_key, ip_key = _keys(email, ip)
    window = settings.LOGIN_FAILURE_WINDOW
    account_attempts, ip_attempts = hit(account_key, window=window), hit(ip_key, window=window)
    within_account = account_attempts <= settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT
    return within_account and ip_attempts <= settings.LOGIN_FAILURE_LIMIT_PER_IP


def login_succeeded(*, email: str, ip: str) -> None:
    """A right password clears the account's count and takes its attempt off the IP (offices share addresses)."""
    account_key, ip_key = _keys(email, ip)
    cache.delete(account_key)
    with contextlib.suppress(ValueError):  # the window ended meanwhile
        cache.decr(ip_key)


def lockout_minutes() -> int:
    return int(settings.LOGIN_FAILURE_WINDOW.total_seconds() // 60)
