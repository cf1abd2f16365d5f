"""Payments endpoints under /api/v1/."""

from django.urls import path

from payments.api import views

urlpatterns = [
    path("auctions/<int:pk>/deposit/", views.DepositView.as_view(), name="api-auction-deposit"),
    path("settlements/<int:pk>/pay/", views.SettlementPayView.as_view(), name="api-settlement-pay"),
    path("me/deposits/", views.MyDepositsView.as_view(), name="api-me-deposits"),
    path("me/settlements/", views.MySettlementsView.as_view(), name="api-me-settlements"),
    path("me/sales/", views.MySalesView.as_view(), name="api-me-sales"),
    path("offers/", views.OffersView.as_view(), name="api-offers"),
    path("offers/<int:pk>/accept/", views.OfferDecisionView.as_view(decision="accept"), name="api-offer-accept"),
    path("offers/<int:pk>/decline/", views.OfferDecisionView.as_view(decision="decline"), name="api-offer-decline"),
]
