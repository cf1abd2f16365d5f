"""Optional browser libraries installed by the setup command into static/vendor/ (never committed, never a CDN)."""

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured

CHART_JS = "vendor/chart.js/chart.umd.min.js"


def vendor_url(path: str) -> str | None:
    """The URL of a vendored file, or None when setup has not installed it (pages then fall back to plain HTML)."""
    try:
        present = bool(finders.find(path)) or staticfiles_storage.exists(path)
    except ImproperlyConfigured:  # no STATIC_ROOT (tests): the finders' answer stands
        present = False
    if not present:
        return None
    try:
        return staticfiles_storage.url(path)
    except ValueError:  # a manifest from before the file was installed: run collectstatic again
        return None
