"""Documents of a completed sale: the bill of sale (PDF) and the debtor transfer notices (CSV, one per debtor).

Only the buyer, members of the seller organization and staff may have them, and only once the buyer has paid
(the debtor file is released to the buyer at that moment)."""

import csv
import io
from collections.abc import Iterator
from itertools import groupby

from django.utils import timezone
from django.utils.translation import gettext as _
from pypdf import PageObject, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from accounts.models import User
from accounts.selectors import membership_list
from marketplace.money import text
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


def _latin(char: str) -> bool:
    return ord(char) < 256


def _shown(line: str) -> str:
    """Text operators for one line: Latin-1 runs in Helvetica, everything else (Chinese names and titles) in the
    standard CJK font STSong-Light, which PDF readers supply themselves (nothing is embedded)."""
    operations = []
    for latin, run in groupby(" ".join(line.split()), key=_latin):
        chunk = "".join(run)
        if latin:
            escaped = chunk.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            operations.append(f"/F1 10 Tf ({escaped}) Tj")
        else:
            operations.append(f"/F2 10 Tf <{chunk.encode('utf-16-be').hex()}> Tj")
    return " ".join(operations)


def _fonts() -> DictionaryObject:
    helvetica = {"/Type": "/Font", "/Subtype": "/Type1", "/BaseFont": "/Helvetica", "/Encoding": "/WinAnsiEncoding"}
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): NameObject("/STSong-Light"),
            NameObject("/Flags"): NumberObject(6),
            NameObject("/FontBBox"): ArrayObject([NumberObject(n) for n in (-25, -254, 1000, 880)]),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(880),
            NameObject("/Descent"): NumberObject(-120),
            NameObject("/CapHeight"): NumberObject(880),
            NameObject("/StemV"): NumberObject(93),
        }
    )
    cid_font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType0"),
            NameObject("/BaseFont"): NameObject("/STSong-Light"),
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("GB1"),
                    NameObject("/Supplement"): NumberObject(4),
                }
            ),
            NameObject("/FontDescriptor"): descriptor,
            NameObject("/DW"): NumberObject(1000),
        }
    )
    cjk = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): NameObject("/STSong-Light-UniGB-UTF16-H"),
            NameObject("/Encoding"): NameObject("/UniGB-UTF16-H"),  # codes are UTF-16BE
            NameObject("/DescendantFonts"): ArrayObject([cid_font]),
        }
    )
    latin = DictionaryObject({NameObject(key): NameObject(value) for key, value in helvetica.items()})
    return DictionaryObject({NameObject("/F1"): latin, NameObject("/F2"): cjk})


def _page(lines: list[str]) -> PageObject:
    operations = ["BT 14 TL 56 790 Td"]
    operations += [f"{_shown(line)} T*" for line in lines]
    operations.append("ET")
    page = PageObject.create_blank_page(width=A4[0], height=A4[1])
    content = DecodedStreamObject()
    content.set_data("\n".join(operations).encode("latin-1"))
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): _fonts()})
    page[NameObject("/Contents")] = content
    return page


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
        writer.add_page(_page(lines[start : start + LINES_PER_PAGE]))
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
