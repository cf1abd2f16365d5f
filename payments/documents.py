"""Documents of a completed sale: the bill of sale (PDF) and the debtor transfer notices (CSV, one per debtor).

Only the buyer, members of the seller organization and staff may have them, and only once the buyer has paid
(the debtor file is released to the buyer at that moment)."""

import csv
import io
from collections.abc import Iterator

from django.utils import timezone
from django.utils.translation import gettext as _
from pypdf import PdfWriter

from accounts.models import User
from accounts.selectors import membership_list
from marketplace.money import text
from marketplace.pdf import text_page
from payments.errors import PaymentError
from payments.models import Settlement
from portfolios.selectors import DebtorIdentity, pii_released_for

A4 = (595, 842)
LINES_PER_PAGE = 48


def document_access_check(*, user: User, settlement: Settlement) -> None:
    """Raise unless `user` may read this settlement's documents (buyer, seller member or staff; paid only)."""
    seller_id = settlement.auction.portfolio.seller_id
    allowed = (
        user.is_staff
        or settlement.buyer_id == user.pk
        or membership_list(user=user).filter(organization_id=seller_id).exists()
    )
    if not allowed:
        raise PaymentError("not_found", _("No such settlement."), http_status=404)
    if settlement.status not in (Settlement.Status.PAID, Settlement.Status.PAID_OUT):
        raise PaymentError("not_paid", _("The documents are issued once the buyer has paid."))


def _debtors(settlement: Settlement) -> Iterator[DebtorIdentity]:
    return pii_released_for(portfolio=settlement.auction.portfolio, buyer=settlement.buyer)


def bill_of_sale_pdf(*, settlement: Settlement) -> bytes:
    """The assignment agreement: parties, price, date, and the loans assigned (listed by loan id)."""
    auction, buyer = settlement.auction, settlement.buyer
    seller = auction.portfolio.seller
    date = (settlement.paid_at or timezone.now()).date().isoformat()
    lines = [
        "BILL OF SALE AND ASSIGNMENT AGREEMENT",
        "",
        f"Date: {date}    Auction: {auction.pk}    Settlement: {settlement.pk}",
        f"Seller (assignor): {seller.name}",
        f"Buyer (assignee): {buyer.get_full_name() or buyer.email} <{buyer.email}>",
        f"Portfolio: {auction.portfolio.title}",
        f"Purchase price (hammer): {text(settlement.hammer_price)} {settlement.currency}",
        f"Buyer's premium: {text(settlement.buyer_premium)} {settlement.currency}",
        "",
        "For the purchase price, received in full, the Seller sells, assigns and transfers to the Buyer all",
        "rights, title and interest in and to the loans listed in the attached sale file below, together",
        "with all claims, collateral, guarantees and proceeds relating to them, as of the date above.",
        "",
        "Sale file - loans assigned (loan id, debtor reference):",
    ]
    lines += [f"  {debtor.loan_id}    {debtor.debtor}" for debtor in _debtors(settlement)]
    lines += ["", "Signed for the Seller: ____________________    Signed for the Buyer: ____________________"]
    writer = PdfWriter()
    for start in range(0, len(lines), LINES_PER_PAGE):
        placed = [(56, 790 - 14 * row, 10, line) for row, line in enumerate(lines[start : start + LINES_PER_PAGE])]
        writer.add_page(text_page(*A4, placed))
    writer.add_metadata({"/Title": f"Bill of sale - auction {auction.pk}"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def transfer_notices_csv(*, settlement: Settlement) -> str:
    """One notice per debtor telling them their creditor changed and whom to pay from now on."""
    seller, buyer = settlement.auction.portfolio.seller, settlement.buyer
    date = (settlement.paid_at or timezone.now()).date().isoformat()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["loan_id", "debtor_name", "address", "notice"])
    for debtor in _debtors(settlement):
        notice = (
            f"Dear {debtor.borrower_name}: on {date} {seller.name} assigned your loan {debtor.loan_id} and all "
            f"rights under it to {buyer.get_full_name() or buyer.email}. From now on, pay the new creditor only."
        )
        writer.writerow([debtor.loan_id, debtor.borrower_name, debtor.address, notice])
    return buffer.getvalue()
