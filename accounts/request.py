"""Who is asking: the client's IP address, as one helper for logs, throttles and decision records."""

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The socket peer's address. Behind a proxy, run uvicorn with --proxy-headers so this is the real client."""
    return request.META.get("REMOTE_ADDR") or None
