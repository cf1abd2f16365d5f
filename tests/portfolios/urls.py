"""The site's URLs plus the portfolio pages, until the root URLconf mounts them at /portfolios/."""

from django.urls import include, path

from marketplace.urls import urlpatterns as site

urlpatterns = [path("portfolios/", include("portfolios.urls")), *site]
