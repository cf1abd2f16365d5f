"""Auction endpoints under /api/v1/."""

from django.urls import path

from auctions.api import views

urlpatterns = [
    path("auctions/", views.AuctionListView.as_view(), name="api-auction-list"),
    path("auctions/<int:pk>/", views.AuctionDetailView.as_view(), name="api-auction-detail"),
    path("auctions/<int:pk>/bids/", views.BidListView.as_view(), name="api-auction-bids"),
    path("auctions/<int:pk>/proxy-bid/", views.ProxyBidView.as_view(), name="api-auction-proxy-bid"),
    path("auctions/<int:pk>/events/", views.EventListView.as_view(), name="api-auction-events"),
    path("auctions/<int:pk>/relist/", views.RelistView.as_view(), name="api-auction-relist"),
    path("me/bids/", views.MyBidsView.as_view(), name="api-me-bids"),
]
