"""Loan tapes for tests: rows as dicts, written as CSV or XLSX uploads; a draft portfolio to import them into."""

import csv
import io
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from accounts.models import Organization, User
from portfolios import services
from portfolios.models import Portfolio

CUTOFF = date(2026, 9, 30)
HEADER = [
    "loan_id",
    "borrower_type",
    "borrower_id",
    "borrower_name",
    "national_id",
    "phone",
    "address",
    "region",
    "currency",
    "origination_date",
    "origination_amount",
    "principal_balance",
    "accrued_interest",
    "other_balances",
    "total_claim",
    "days_past_due",
    "default_date",
    "charged_off",
    "charge_off_date",
    "last_payment_date",
    "last_payment_amount",
    "interest_rate",
    "collateral_type",
    "collateral_value",
    "guarantors",
    "legal_status",
    "case_number",
    "credit_score_band",
]
REGIONS = ["Zhejiang", "Jiangsu", "Guangdong", "Sichuan"]


def loan_row(n: int, **overrides: Any) -> dict[str, str]:
    """A valid, varied loan as the seller's tape has it (all text)."""
    principal = 8_000 + 3_917 * n % 900_000
    interest = principal * 7 // 100
    secured = n % 3 == 0
    legal = ["none", "litigation", "judgment", "enforcement", "insolvency"][n % 5]
    dpd = [45, 120, 200, 400, 900][n % 5]
    row = {
        "loan_id": f"L-{n:06d}",
        "borrower_type": "individual" if n % 4 else "corporate",
        "borrower_id": f"B{n:07d}",
        "borrower_name": f"Debtor Name {n}",
        "national_id": f"33010619{n:010d}",
        "phone": f"1380000{n:04d}",
        "address": f"{n} West Lake Road, Hangzhou",
        "region": REGIONS[n % len(REGIONS)],
        "currency": "CNY",
        "origination_date": f"20{18 + n % 6}-0{1 + n % 9}-15",
        "origination_amount": f"{principal * 12 // 10}.00",
        "principal_balance": f"{principal}.50",
        "accrued_interest": f"{interest}.25",
        "other_balances": "120.00",
        "total_claim": f"{principal + interest + 120}.75",
        "days_past_due": str(dpd),
        "default_date": "",
        "charged_off": "yes" if n % 2 else "no",
        "charge_off_date": "2026-01-31" if n % 2 else "",
        "last_payment_date": "2025-06-30",
        "last_payment_amount": "350.00",
        "interest_rate": "6.5",
        "collateral_type": "real_estate" if secured else "none",
        "collateral_value": f"{principal * 8 // 10}.00" if secured else "",
        "guarantors": str(n % 3),
        "legal_status": legal,
        "case_number": f"(2025)浙0106民初{n}号" if legal in ("judgment", "enforcement") else "",
        "credit_score_band": "C",
    }
    row.update(overrides)
    return row


def csv_upload(rows: list[dict[str, str]], *, header: list[str] | None = None, name: str = "tape.csv") -> Any:
    header = header or HEADER
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8"), content_type="text/csv")


def xlsx_upload(header: list[str], rows: list[list[Any]], name: str = "tape.xlsx") -> Any:
    workbook = Workbook()
    sheet = workbook.worksheets[0]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def new_draft(user: User, seller: Organization, **data: Any) -> Portfolio:
    values = {"title": "Zhejiang SME loans", "debt_type": "sme", "cutoff_date": CUTOFF, **data}
    return services.portfolio_create(user=user, seller=seller, data=values)


@pytest.fixture
def draft(member: User, seller_org: Organization) -> Portfolio:
    return new_draft(member, seller_org)


@pytest.fixture
def staff(make_user: Any) -> User:
    return make_user("moderator@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def import_tape(member: User, django_capture_on_commit_callbacks: Any) -> Any:
    """Upload through the service and run the queued task as a commit would (eager Celery); return the job."""
    from portfolios.services import loan_tape

    def run(portfolio: Portfolio, upload: Any, *, user: User | None = None, mapping: dict[str, str] | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            job = loan_tape.loan_tape_upload(user=user or member, portfolio=portfolio, file=upload, mapping=mapping)
        job.refresh_from_db()
        return job

    return run


PII_COLUMNS = ("borrower_id", "borrower_name", "national_id", "phone", "address", "case_number")


def pii_values(rows: list[dict[str, str]]) -> set[str]:
    return {row[column] for row in rows for column in PII_COLUMNS if row[column]}


def pdf_upload(*pages: str, name: str = "servicing.pdf") -> Any:
    """A real PDF with one line of text per page."""
    from pypdf import PdfWriter

    from marketplace.pdf import text_page

    writer = PdfWriter()
    for text in pages:
        writer.add_page(text_page(595, 842, [(72, 700, 14, text)]))
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/pdf")


def kyc_approved(user: User, status: str = "approved") -> User:
    from accounts.models import KycSubmission

    KycSubmission.objects.create(
        user=user,
        kind=KycSubmission.Kind.INDIVIDUAL,
        legal_name="Pearl Bay Buyer",
        country="CN",
        document="kyc/none.pdf",
        status=status,
    )
    return user


@pytest.fixture
def room_listing(
    draft: Portfolio, import_tape: Any, member: User, staff: User
) -> tuple[Portfolio, list[dict[str, str]]]:
    """An approved listing with 30 loans; returns it with the tape's rows."""
    rows = [loan_row(n) for n in range(30)]
    assert import_tape(draft, csv_upload(rows)).status == "succeeded"
    services.portfolio_submit(user=member, portfolio=draft)
    return services.portfolio_review(portfolio=draft, reviewer=staff, approve=True), rows


@pytest.fixture
def buyer(make_user: Any) -> User:
    return kyc_approved(make_user("buyer@pearl-bay.example.com"))


@pytest.fixture(autouse=True)
def _documents_removed() -> Iterator[None]:
    """Stored documents outlive their rows' rollback: remove them, so private storage is empty for the next test."""
    yield
    shutil.rmtree(Path(settings.PRIVATE_MEDIA_ROOT) / "portfolio-documents", ignore_errors=True)


@pytest.fixture
def nda(db: None) -> Any:
    """NDA version 1, which migration 0005 publishes; transactional tests flush it away, so those that need it
    ask for it."""
    from portfolios.models import NdaVersion

    text = (Path(__file__).resolve().parents[2] / "portfolios" / "data" / "nda_v1.txt").read_text(encoding="utf-8")
    version, _created = NdaVersion.objects.get_or_create(version=1, defaults={"text": text.strip()})
    return version
