"""WebSocket URL routes of every app."""

from django.urls import path

from auctions.consumers import AuctionConsumer
from marketplace.consumers import PingConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/auctions/<int:pk>/", AuctionConsumer.as_asgi()),
]
