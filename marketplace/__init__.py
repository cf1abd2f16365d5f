"""The bad-debt auction marketplace project: settings, URL root, ASGI routing and Celery app."""

from marketplace.celery import app as celery_app

__all__ = ["celery_app"]
