"""Marks a downloaded document with its reader: a stamp line naming them and a fingerprint the access log also keeps.

CSV gets a comment line before its first row; XLSX a first row on every sheet (and the fingerprint in the workbook's
keywords); PDF a footer drawn on every page (pypdf), so a leaked copy, or a printout of any page, names its reader.
"""

import io
from collections.abc import Iterator
from typing import IO

from openpyxl import load_workbook
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError

from marketplace.pdf import text_page

CHUNK = 256 * 1024


def stamp_text(*, reader: str, when: str, fingerprint: str) -> str:
    return f"Confidential - downloaded by {reader} at {when} - fingerprint {fingerprint}"


def csv_stamped(file: IO[bytes], stamp: str) -> Iterator[bytes]:
    """The CSV with `# stamp` as its first line, streamed (a UTF-8 byte-order mark stays in front)."""
    head = file.read(CHUNK)
    bom = b"\xef\xbb\xbf" if head.startswith(b"\xef\xbb\xbf") else b""
    yield bom + b"# " + _one_line(stamp).encode() + b"\r\n"
    yield head[len(bom) :]
    while chunk := file.read(CHUNK):
        yield chunk


def xlsx_stamped(file: IO[bytes], stamp: str, fingerprint: str) -> bytes:
    """The workbook with the stamp in a new first row of every sheet and the fingerprint in its keywords."""
    workbook = load_workbook(file)
    for sheet in workbook.worksheets:
        sheet.insert_rows(1)
        sheet.cell(row=1, column=1, value=_one_line(stamp))
    workbook.properties.keywords = f"fingerprint:{fingerprint}"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pdf_stamped(file: IO[bytes], stamp: str, fingerprint: str) -> bytes:
    """The PDF with the stamp as a footer on every page and the fingerprint in its metadata."""
    writer = PdfWriter(clone_from=PdfReader(file))
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        page.merge_page(text_page(width, height, [(36, 14, 7, stamp)], rgb="0.45 0.1 0.1"))
    writer.add_metadata({"/Keywords": f"fingerprint:{fingerprint}"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def is_stampable_pdf(file: IO[bytes]) -> bool:
    """Whether a file is a PDF that pypdf reads, unencrypted, with at least one page (so it can be stamped later)."""
    try:
        reader = PdfReader(file)
        return not reader.is_encrypted and len(reader.pages) > 0
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return False
    finally:
        file.seek(0)


def _one_line(text: str) -> str:
    return " ".join(text.split())
