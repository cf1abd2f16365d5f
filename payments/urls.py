"""Payment pages: the deposit form of an auction, the documents of a sale."""

from django.urls import path

from payments import pages

app_name = "payments"
urlpatterns = [
    path("auctions/<int:pk>/deposit/", pages.deposit_page, name="deposit"),
    path("settlements/<int:pk>/pay/", pages.pay_page, name="pay"),
    path("settlements/<int:pk>/bill-of-sale.pdf", pages.bill_of_sale, name="bill-of-sale"),
    path("settlements/<int:pk>/transfer-notices.csv", pages.transfer_notices, name="transfer-notices"),
]
