"""Account endpoints under /api/v1/."""

from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("me/tokens/", views.TokenListView.as_view(), name="api-token-list"),
    path("me/tokens/<int:pk>/", views.TokenDetailView.as_view(), name="api-token-detail"),
    path("me/kyc/", views.KycView.as_view(), name="api-kyc"),
]
