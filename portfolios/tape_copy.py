"""Checked loan-tape rows as PostgreSQL COPY text: the loans' columns and the debtors' hashes; their identities for
the vault.

Pure code (no database). COPY's text format: tab-separated, \\N for NULL, backslash escapes in free text (the other
columns hold checked forms only), bytea as `\\x` and hex digits.
"""

import contextlib
import queue
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TypeVar, cast

from portfolios import tape, vault

LOAN_COLUMNS = [name for name, column in tape.COLUMNS.items() if not column.pii]
NULL = "\\N"
FREE_TEXT = frozenset(name for name in LOAN_COLUMNS if tape.COLUMNS[name].free_text)
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

Values = dict[str, list[str | None]]


@dataclass
class Batch:
    """Rows of a tape, checked: their spreadsheet row numbers, problems by index, loan ids and hashes, and (when
    sealed) their COPY text and vault block."""

    number: int  # 0 for a tape's first batch
    row_numbers: list[int]
    issues: dict[int, list[tape.Issue]]
    progress: float  # how far into the file the batch ends (0 to 1)
    loan_ids: list[str | None] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # COPY text of each debt's title hash
    loans: list[bytes] = field(default_factory=list)  # COPY text of the loans, a chunk at a time
    block: bytes = b""  # the rows' identities, sealed (vault.seal_block)


def loan_copy(values: Values, portfolio_id: int, debtors: list[str], titles: list[str]) -> bytes:
    """The rows' COPY text for `portfolio_id, debtor, title_hash, *LOAN_COLUMNS`, one line per row."""
    columns = [[str(portfolio_id)] * len(debtors), debtors, titles]
    for name in LOAN_COLUMNS:
        column = values[name]
        if name in FREE_TEXT and _needs_escapes("".join(filter(None, column))):
            column = [None if value is None else value.translate(COPY_ESCAPES) for value in column]
        if None in column:
            column = [NULL if value is None else value for value in column]
        columns.append(cast(list[str], column))
    return "".join(map("{}\n".format, map("\t".join, zip(*columns, strict=True)))).encode()


def identities(values: Values, hasher: vault.Hasher, *, portfolio_id: int) -> tuple[list[str], list[str]]:
    """Per row: the debtor's pseudonym and the debt's title hash, as COPY text (NULL where the row lacks them).

    The pseudonym, `D-` and 14 hex digits, is stable for one debtor within one portfolio (and across re-uploads),
    and scoped to the portfolio so that nobody can follow a debtor from one listing to another. The title hash (the
    chain-of-title key) covers who owes the debt and its origination (ISO date, two-decimal amount), not the loan
    id: a buyer who resells a debt gives it its own id, while the debtor and the origination stay the same. The
    debtor alone would be too much: one person may owe several lenders.
    """
    identity_column = values["national_id"]
    count = len(identity_column)
    pseudonym_prefix = f"debtor\x1f{portfolio_id}\x1f".encode()
    digest = hasher.digest
    debtors, titles = [NULL] * count, [NULL] * count
    rows = zip(identity_column, values["origination_date"], values["origination_amount"], strict=True)
    for i, (identity, originated, amount) in enumerate(rows):
        if not identity:
            continue
        encoded = identity.encode()
        debtors[i] = "D-" + digest(pseudonym_prefix + encoded)[:7].hex().upper()
        if originated and amount:
            title = b"title\x1f%s\x1f%s\x1f%s" % (encoded, originated.encode(), tape.amount_key(amount).encode())
            titles[i] = "\\\\x" + digest(title).hex()
    return debtors, titles


def identity_rows(values: Values, debtors: list[str]) -> list[tuple[str | None, ...]]:
    """What the vault keeps of each row: its loan id, its debtor's pseudonym and the debtor's identity (tape.PII)."""
    return list(zip(values["loan_id"], debtors, *(values[name] for name in tape.PII), strict=True))


def _needs_escapes(text: str) -> bool:
    return "\\" in text or "\t" in text or "\n" in text or "\r" in text


T = TypeVar("T")
_END = object()


def ahead(items: Generator[T], depth: int = 2) -> Generator[T]:
    """`items`, computed in a thread of its own up to `depth` items ahead of the caller.

    The import's Python work (parsing, checks, hashing, sealing) holds the interpreter lock, while sending a batch to
    PostgreSQL waits on the server without it: with the two in different threads, the next batch is prepared while
    the server stores the last one. An exception in the thread is raised in the caller; closing the iterator stops
    the thread after its current item, and closes `items` (so a file it reads can be closed next).
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(_END)
        except BaseException as error:  # handed over to the caller, which raises it
            handoff.put(error)

    thread = threading.Thread(target=produce, name="loan-tape-reader", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.1)
        thread.join()
        items.close()
