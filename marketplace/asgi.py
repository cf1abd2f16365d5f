"""ASGI entry point: `/ws/...` goes to Channels consumers, everything else to Django."""

import os
from typing import Any

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")
django.setup(set_prefix=False)


class SyncChainASGIHandler(ASGIHandler):
    """Django over ASGI with each request's middleware and view run as one synchronous call in a worker thread.

    Every view here is synchronous (DRF, forms), and WhiteNoise's middleware is sync-only. Django's own ASGI handler
    builds an asynchronous chain, so a request crossed between the event loop and a thread at almost every
    middleware (about a dozen times, see BaseHandler.load_middleware). Without those hand-offs the bid API decided
    168 bids/s instead of 103 under wrk (8 bidders, 2 workers, same run). Reading the body and sending the response
    stay asynchronous.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)
        self._middleware_chain: Any = sync_to_async(self._middleware_chain, thread_sensitive=True)


django_asgi_app = SyncChainASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.middleware import OriginValidator, WebSocketAuthMiddleware  # noqa: E402
from marketplace.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": OriginValidator(WebSocketAuthMiddleware(URLRouter(websocket_urlpatterns))),
    }
)
