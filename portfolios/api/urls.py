"""Portfolio endpoints under /api/v1/."""

from django.urls import path

from portfolios.api import views

urlpatterns = [
    path("portfolios/", views.PortfolioListView.as_view(), name="api-portfolio-list"),
    path("portfolios/<int:pk>/", views.PortfolioDetailView.as_view(), name="api-portfolio-detail"),
    path("portfolios/<int:pk>/submit/", views.PortfolioSubmitView.as_view(), name="api-portfolio-submit"),
]
