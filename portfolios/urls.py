"""Portfolio pages (mounted at /portfolios/)."""

from django.urls import path

from portfolios import views

app_name = "portfolios"
urlpatterns = [
    path("", views.portfolio_browse, name="browse"),
    path("<int:pk>/", views.portfolio_detail, name="detail"),
]
