"""Cross-cutting periodic tasks."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

BEAT_HEARTBEAT_KEY = "celery:beat:last"


@shared_task(ignore_result=True)
def heartbeat() -> None:
    """Record that beat scheduled and a worker ran a task; `/healthz` reports its age."""
    cache.set(BEAT_HEARTBEAT_KEY, timezone.now().isoformat(), timeout=None)
