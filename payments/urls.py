"""Payment pages: the deposit form of an auction."""

from django.urls import path

from payments import pages

app_name = "payments"
urlpatterns = [
    path("auctions/<int:pk>/deposit/", pages.deposit_page, name="deposit"),
]
