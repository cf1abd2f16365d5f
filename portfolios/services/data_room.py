"""The data room: sellers' documents, NDA acceptance, who may read inside, and the logged, watermarked reads."""

import csv
import hashlib
import io
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.models import User
from marketplace import ratelimit
from portfolios import selectors, tape_files, watermark
from portfolios.models import DataRoomAccess, Loan, NdaAcceptance, NdaVersion, Portfolio, PortfolioDocument
from portfolios.services.listing import PortfolioError, _require_seller_member

Format = PortfolioDocument.Format
CLOSED = frozenset({Portfolio.Status.SOLD, Portfolio.Status.WITHDRAWN})  # what a buyer studied stays as it was
CONTENT_TYPES = {
    Format.PDF: "application/pdf",
    Format.CSV: "text/csv; charset=utf-8",
    Format.XLSX: ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


# --- Documents ---------------------------------------------------------------------------------------------------


def document_upload(
    *, user: User, portfolio: Portfolio, file: UploadedFile, title: str, kind: str, visibility: str
) -> PortfolioDocument:
    """Store a seller's document privately (PDF, CSV or XLSX, checked by content and size); nothing is kept if not."""
    _require_seller_member(user=user, seller=portfolio.seller)
    if portfolio.status in CLOSED:
        raise PortfolioError("not_editable", _("Documents can no longer be added to a sold or withdrawn listing."))
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = _("Give the document a title.")
    if kind not in PortfolioDocument.Kind.values:
        errors["kind"] = _("Choose what kind of document this is.")
    if visibility not in PortfolioDocument.Visibility.values:
        errors["visibility"] = _("Choose who may read the document.")
    file_format = ""
    try:
        file_format = _document_format(file)
    except ValidationError as error:
        errors.update({field: messages[0] for field, messages in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    document = PortfolioDocument(
        portfolio=portfolio,
        title=title.strip()[:200],
        kind=kind,
        visibility=visibility,
        file_name=(file.name or "")[-255:],
        file_format=file_format,
        size=file.size or 0,
        sha256=digest.hexdigest(),
        uploaded_by=user,
    )
    try:
        with transaction.atomic():
            document.file.save(file.name or f"document.{file_format}", file, save=False)
            document.save()
    except BaseException:
        if document.file:
            document.file.delete(save=False)
        raise
    return document


def _document_format(file: UploadedFile) -> str:
    limit = settings.PORTFOLIO_DOCUMENT_MAX_UPLOAD_BYTES
    if file.size is None or file.size > limit:
        raise ValidationError({"file": _("The file is larger than %(n)d MB.") % {"n": limit // (1024 * 1024)}})
    if file.size == 0:
        raise ValidationError({"file": _("The file is empty.")})
    file.seek(0)
    head = file.read(64 * 1024)
    file.seek(0)
    name = (file.name or "").lower()
    found: str | None = None
    if name.endswith(".pdf"):
        found = Format.PDF if head.startswith(b"%PDF-") and watermark.is_stampable_pdf(file) else None
    elif name.endswith((".csv", ".xlsx")):
        found = tape_files.sniff(head, name)
        if found == "xlsx" and not tape_files.is_workbook(file):
            found = None
        file.seek(0)
    if found is None:
        raise ValidationError(
            {
                "file": _(
                    "Upload a PDF (without a password), a CSV (UTF-8) or an XLSX workbook whose content matches its "
                    "name."
                )
            }
        )
    return found


def document_delete(*, user: User, document: PortfolioDocument) -> None:
    """Remove a document (a wrong upload); the access log keeps what was read of it, by title."""
    _require_seller_member(user=user, seller=document.portfolio.seller)
    if document.portfolio.status in CLOSED:
        raise PortfolioError("not_editable", _("The documents of a sold or withdrawn listing stay as they were."))
    with transaction.atomic():
        document.delete()
        transaction.on_commit(lambda: document.file.delete(save=False))


# --- NDA and access ----------------------------------------------------------------------------------------------


def nda_current() -> NdaVersion:
    version = NdaVersion.objects.order_by("-version").first()
    if version is None:
        raise PortfolioError("nda_missing", _("No NDA has been published yet."), http_status=503)
    return version


def nda_accept(*, user: User, portfolio: Portfolio, version: int, ip_address: str | None) -> NdaAcceptance:
    """Record that the user accepts the NDA version they were shown; only the current version can be accepted."""
    current = nda_current()
    if version != current.version:
        raise PortfolioError(
            "nda_outdated",
            _("The NDA has changed since it was shown to you; read version %(v)d and accept it.")
            % {"v": current.version},
            current_version=current.version,
        )
    try:
        with transaction.atomic():
            return NdaAcceptance.objects.create(portfolio=portfolio, user=user, nda=current, ip_address=ip_address)
    except IntegrityError:  # accepted already: the first acceptance stands
        return NdaAcceptance.objects.get(portfolio=portfolio, user=user, nda=current)


@dataclass(frozen=True)
class Entry:
    """Why a user may or may not enter a portfolio's data room. `code` is None when they may."""

    code: str | None
    message: str = ""
    insider: bool = False  # the seller's own people and staff: no NDA, no watermark


def data_room_entry(*, user: User, portfolio: Portfolio) -> Entry:
    """Staff and the seller's own people may always read; a buyer needs approved KYC and the current NDA accepted."""
    if not user.is_authenticated:
        return Entry("login_required", _("Sign in to enter the data room."))
    standing = account_selectors.standing(user=user, seller_id=portfolio.seller_id)
    if user.is_staff or standing.seller_member:
        return Entry(None, insider=True)
    if standing.kyc_status != "approved":
        return Entry("kyc_required", _("Your identity must be verified (KYC approved) to enter the data room."))
    if not NdaAcceptance.objects.filter(portfolio=portfolio, user=user, nda=nda_current()).exists():
        return Entry("nda_required", _("Accept the current NDA of this portfolio to enter its data room."))
    return Entry(None)


def data_room_require(*, user: User, portfolio: Portfolio) -> Entry:
    entry = data_room_entry(user=user, portfolio=portfolio)
    if entry.code is not None:
        raise PortfolioError(entry.code, entry.message, http_status=403)
    return entry


def _read_allowed(user: User) -> None:
    window = timedelta(seconds=settings.DATA_ROOM_READ_WINDOW_SECONDS)
    if not ratelimit.allow(f"data-room:{user.pk}", limit=settings.DATA_ROOM_READ_LIMIT, window=window):
        raise PortfolioError(
            "rate_limited", _("Too many data-room reads in a short time; wait a minute."), http_status=429
        )


def loans_read(*, user: User, portfolio: Portfolio, detail: str, ip_address: str | None) -> DataRoomAccess:
    """Check entry and the read rate, then log a read of loan rows (call before serving them)."""
    data_room_require(user=user, portfolio=portfolio)
    _read_allowed(user)
    return DataRoomAccess.objects.create(
        portfolio=portfolio, user=user, action=DataRoomAccess.Action.LOANS, detail=detail[:300], ip_address=ip_address
    )


def loans_export(*, user: User, portfolio: Portfolio, filters: dict[str, Any], ip_address: str | None) -> "Download":
    """The masked loan rows as CSV, streamed: checked, rate-limited, logged, and stamped like a document download."""
    entry = data_room_require(user=user, portfolio=portfolio)
    _read_allowed(user)
    now = timezone.now()
    shown = ", ".join(f"{key}={value}" for key, value in filters.items() if value)
    access = DataRoomAccess.objects.create(
        portfolio=portfolio,
        user=user,
        action=DataRoomAccess.Action.LOANS,
        detail=("CSV export" + (f"; {shown}" if shown else ""))[:300],
        fingerprint="" if entry.insider else secrets.token_hex(8),
        ip_address=ip_address,
        created_at=now,
    )
    stamp = None if entry.insider else _stamp(user, now, access.fingerprint)
    rows = selectors.loan_list_masked(portfolio=portfolio, filters=filters)
    return Download(
        file_name=f"portfolio-{portfolio.pk}-loans.csv",
        content_type=CONTENT_TYPES[Format.CSV],
        chunks=_loans_csv(rows, stamp),
        access=access,
    )


def _loans_csv(loans: "QuerySet[Loan]", stamp: str | None) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if stamp:
        buffer.write(f"# {stamp}\r\n")
    writer.writerow(selectors.MASKED_LOAN_FIELDS)
    for values in loans.values_list(*selectors.MASKED_LOAN_FIELDS).iterator(chunk_size=2000):
        writer.writerow(["" if value is None else value for value in values])
        if buffer.tell() > watermark.CHUNK:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _stamp(user: User, when: datetime, fingerprint: str) -> str:
    return watermark.stamp_text(
        reader=f"{user.email} (user {user.pk})", when=f"{when:%Y-%m-%d %H:%M:%S} UTC", fingerprint=fingerprint
    )


def document_readable(*, user: User, document: PortfolioDocument) -> bool:
    """Public documents: any signed-in user; data-room documents: whoever may enter the data room."""
    if not user.is_authenticated:
        return False
    if document.visibility == PortfolioDocument.Visibility.PUBLIC:
        return True
    return data_room_entry(user=user, portfolio=document.portfolio).code is None


@dataclass(frozen=True)
class Download:
    file_name: str
    content_type: str
    chunks: Iterable[bytes]
    access: DataRoomAccess


def document_download(*, user: User, document: PortfolioDocument, ip_address: str | None) -> Download:
    """A document for its reader: checked, rate-limited, logged, and (except for the seller's people and staff)
    watermarked with the reader's identity, the time and a fingerprint the log row keeps."""
    portfolio = document.portfolio
    if document.visibility == PortfolioDocument.Visibility.PUBLIC:
        if not user.is_authenticated:
            raise PortfolioError("login_required", _("Sign in to download documents."), http_status=403)
        entry = data_room_entry(user=user, portfolio=portfolio)
    else:
        entry = data_room_require(user=user, portfolio=portfolio)
    _read_allowed(user)
    now = timezone.now()
    fingerprint = "" if entry.insider else secrets.token_hex(8)
    access = DataRoomAccess.objects.create(
        portfolio=portfolio,
        user=user,
        action=DataRoomAccess.Action.DOCUMENT,
        document=document,
        detail=f"{document.title} ({document.file_name})"[:300],
        fingerprint=fingerprint,
        ip_address=ip_address,
        created_at=now,
    )
    handle = document.file.open("rb")
    if entry.insider:
        chunks: Iterable[bytes] = _closing_chunks(handle)
    else:
        stamp = _stamp(user, now, fingerprint)
        if document.file_format == Format.CSV:
            chunks = _closing(watermark.csv_stamped(handle, stamp), handle)
        elif document.file_format == Format.XLSX:
            with handle:
                chunks = [watermark.xlsx_stamped(handle, stamp, fingerprint)]
        else:
            with handle:
                chunks = [watermark.pdf_stamped(handle, stamp, fingerprint)]
    return Download(
        file_name=document.file_name.rsplit("/", 1)[-1],
        content_type=CONTENT_TYPES[Format(document.file_format)],
        chunks=chunks,
        access=access,
    )


def _closing_chunks(handle: IO[Any]) -> Iterable[bytes]:
    with handle:
        while chunk := handle.read(watermark.CHUNK):
            yield chunk


def _closing(chunks: Iterable[bytes], handle: IO[Any]) -> Iterable[bytes]:
    with handle:
        yield from chunks
