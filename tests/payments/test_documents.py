"""Once the buyer has paid, the buyer and the seller (only) download the bill of sale, listing every loan assigned,
and one transfer notice per debtor with the debtor's name in clear."""

import csv
import io

import pytest
from pypdf import PdfReader

from accounts.models import Membership
from auctions import services as auction_services
from payments import services
from payments.models import Settlement
from portfolios import services as portfolio_services
from portfolios.services import loan_tape
from tests.payments.conftest import close_now
from tests.portfolios.conftest import csv_upload, loan_row, new_draft

pytestmark = pytest.mark.django_db


def test_the_sale_documents_go_to_buyer_and_seller_only(market, make_user, client, django_capture_on_commit_callbacks):
    staff = make_user("moderator@example.com", is_staff=True, is_superuser=True)
    portfolio = new_draft(market.trader, market.seller)
    with django_capture_on_commit_callbacks(execute=True):
        loan_tape.loan_tape_upload(
            user=market.trader, portfolio=portfolio, file=csv_upload([loan_row(n) for n in range(3)]), mapping=None
        )
    portfolio_services.portfolio_submit(user=market.trader, portfolio=portfolio)
    portfolio = portfolio_services.portfolio_review(portfolio=portfolio, reviewer=staff, approve=True)
    auction = market.auction(portfolio=portfolio, deposit_amount="1000.00")
    buyer, other = market.buyer("bob"), market.buyer("eve")
    services.deposit_hold(user=buyer, auction_id=auction.pk, payment_method="pm_card_visa")
    auction_services.bid_place(user=buyer, auction_id=auction.pk, amount="10000.00")
    close_now(auction, django_capture_on_commit_callbacks)
    settlement = Settlement.objects.get()
    pdf_url = f"/payments/settlements/{settlement.pk}/bill-of-sale.pdf"
    csv_url = f"/payments/settlements/{settlement.pk}/transfer-notices.csv"

    client.force_login(buyer)
    assert client.get(pdf_url).status_code == 403  # not paid yet
    services.settlement_pay(user=buyer, settlement_id=settlement.pk, payment_method="pm_card_visa")

    response = client.get(pdf_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "all" in pdf_text and "rights, title and interest" in pdf_text
    for n in range(3):
        assert f"L-{n:06d}" in pdf_text
    assert "Jade River AMC" in pdf_text and "10000.00 CNY" in pdf_text
    market.seller.name = "翡翠河资产管理有限公司 (Jade River AMC)"  # Chinese parties are written out, not as "?"
    market.seller.save(update_fields=["name"])
    pdf = PdfReader(io.BytesIO(client.get(pdf_url).content))
    assert "Seller (assignor): 翡翠河资产管理有限公司 (Jade River AMC)" in pdf.pages[0].extract_text()
    assert pdf.pages[0]["/Resources"]["/Font"]["/MkCJK"]["/BaseFont"] == "/STSong-Light-UniGB-UTF16-H"

    notices = list(csv.DictReader(io.StringIO(client.get(csv_url).content.decode())))
    assert [(row["loan_id"], row["debtor_name"]) for row in notices] == [
        (f"L-{n:06d}", f"Debtor Name {n}") for n in range(3)
    ]
    assert "pay the new creditor" in notices[0]["notice"]

    Membership.objects.get_or_create(user=market.trader, organization=market.seller)
    client.force_login(market.trader)
    assert client.get(pdf_url).status_code == 200
    client.force_login(other)
    assert client.get(pdf_url).status_code == 404 and client.get(csv_url).status_code == 404
