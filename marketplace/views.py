"""Site-wide pages: the home page and the health check."""

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from marketplace.celery import app as celery_app
from marketplace.tasks import BEAT_HEARTBEAT_KEY


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def _check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        (version,) = cursor.fetchone() or ("?",)
    return {"version": version.split(" on ")[0]}


def _check_redis() -> dict[str, Any]:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
        return {"version": client.info("server").get("redis_version")}
    finally:
        client.close()


def _check_celery() -> dict[str, Any]:
    replies = celery_app.control.ping(timeout=1.5, limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered within 1.5 s")
    last_beat = cache.get(BEAT_HEARTBEAT_KEY)
    beat_age = (timezone.now() - datetime.fromisoformat(last_beat)).total_seconds() if last_beat else None
    return {"workers": sorted(name for reply in replies for name in reply), "beat_seconds_ago": beat_age}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": _check_database,
    "redis": _check_redis,
    "celery": _check_celery,
}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Report reachability of the database, Redis and a Celery worker; 503 if any is down.

    Everyone sees which part is up; versions, worker names and error texts are for staff only.
    """
    detailed = request.user.is_authenticated and request.user.is_staff
    results: dict[str, Any] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            details = check()
            results[name] = {"ok": True, **(details if detailed else {})}
        except Exception as exc:  # any failure is what a health check reports
            results[name] = {"ok": False, **({"error": f"{type(exc).__name__}: {exc}"} if detailed else {})}
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    healthy = all(result["ok"] for result in results.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **results}, status=200 if healthy else 503)
