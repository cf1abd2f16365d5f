"""Loan-tape files: what an upload really is (content sniffing), and streaming readers for CSV and XLSX.

Readers yield each row as a list of cell texts, one row at a time, so a tape is never held in memory whole.
"""

import codecs
import csv
import io
import zipfile
from collections.abc import Generator
from datetime import date, datetime
from typing import IO, Any

from openpyxl import load_workbook


def sniff(head: bytes, filename: str) -> str | None:
    """`csv` or `xlsx` when the file's first bytes prove what its extension says; else None."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        return "xlsx" if head.startswith(b"PK\x03\x04") else None
    if name.endswith(".csv") and b"\x00" not in head:
        try:
            text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        except UnicodeDecodeError:
            return None
        first_line = text.splitlines()[0] if text else ""
        return "csv" if "," in first_line else None
    return None


def is_workbook(file: IO[bytes]) -> bool:
    """Whether a ZIP file is an Excel workbook (and not some other archive named .xlsx)."""
    try:
        with zipfile.ZipFile(file) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


# What a reader raises on a file that stops making sense part-way (bad encoding, broken quoting or archive).
UNREADABLE = (UnicodeDecodeError, csv.Error, zipfile.BadZipFile)


def csv_rows(binary: IO[bytes]) -> Generator[list[str]]:
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    try:
        yield from csv.reader(text)
    finally:
        text.detach()  # the caller's file stays open


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # Excel stores numbers as doubles: repr() gives the shortest text that is the number shown.
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def xlsx_rows(binary: IO[bytes]) -> tuple[int | None, Generator[list[str]]]:
    """The first sheet's row count (when the file declares it) and its rows, streamed (openpyxl read-only mode)."""
    workbook = load_workbook(binary, read_only=True, data_only=True)
    sheet = workbook.worksheets[0]

    def rows() -> Generator[list[str]]:
        try:
            for values in sheet.iter_rows(values_only=True):
                yield [_cell_text(value) for value in values]
        finally:
            workbook.close()

    return sheet.max_row, rows()
