"""The URL root: pages, admin, REST API under /api/v1/, its schema and docs, health."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.forms import AdminLoginForm
from marketplace import views
from payments.views import stripe_webhook

admin.site.site_header = "Debt auction administration"
admin.site.site_title = "Debt auction admin"
admin.site.login_form = AdminLoginForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    path("auctions/", include("auctions.urls")),
    path("portfolios/", include("portfolios.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("portfolios.api.urls")),
    path("api/v1/", include("auctions.api.urls")),
    path("api/v1/", include("payments.api.urls")),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    path("payments/", include("payments.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
