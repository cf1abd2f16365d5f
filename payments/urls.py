"""Payment pages: the money dashboard, the deposit form of an auction, the balance payment, a sale's documents."""

from django.urls import path

from payments import pages

app_name = "payments"
urlpatterns = [
    path("", pages.mine, name="mine"),
    path("offers/<int:pk>/accept/", pages.offer_decide, {"decision": "accept"}, name="offer-accept"),
    path("offers/<int:pk>/decline/", pages.offer_decide, {"decision": "decline"}, name="offer-decline"),
    path("auctions/<int:pk>/deposit/", pages.deposit_page, name="deposit"),
    path("settlements/<int:pk>/pay/", pages.pay_page, name="pay"),
    path("settlements/<int:pk>/bill-of-sale.pdf", pages.bill_of_sale, name="bill-of-sale"),
    path("settlements/<int:pk>/transfer-notices.csv", pages.transfer_notices, name="transfer-notices"),
]
