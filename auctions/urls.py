"""Auction pages under /auctions/."""

from django.urls import path

from auctions import views

app_name = "auctions"

urlpatterns = [
    path("", views.auction_list, name="list"),
    path("<int:pk>/", views.auction_room, name="room"),
    path("<int:pk>/bid/", views.bid, name="bid"),
    path("<int:pk>/proxy-bid/", views.proxy_bid, name="proxy-bid"),
    path("new/<int:portfolio_id>/", views.auction_setup, name="setup"),
    path("<int:pk>/watch/", views.watch, name="watch"),
    path("mine/", views.my_auctions, name="mine"),
    path("notifications/", views.notification_list, name="notifications"),
]
