"""Loan-tape upload and import: stream and check every row, stage with COPY, then swap the tape in one transaction.

The import never holds the file in memory: rows are streamed (csv / openpyxl read-only), checked a batch at a time
(column by column, see tape.batch_check), and written with COPY into a temporary staging table, one COPY per batch
so that progress can be saved in between. Checks that need all rows (repeated loan ids, debts already listed
elsewhere) then run as SQL over the staging table. Only a tape with no problem at all replaces the portfolio's
loans, in a single transaction.
"""

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from portfolios import rules, tape, tape_files, vault
from portfolios.models import ImportIssue, Loan, LoanTapeImport, Portfolio
from portfolios.services.listing import PortfolioError, _require_seller_member
from portfolios.services.stats import portfolio_stats_compute
from portfolios.tasks import loan_tape_import_run

logger = logging.getLogger(__name__)

Status = LoanTapeImport.Status
BATCH_ROWS = 20_000  # rows per COPY; progress is saved between batches
CHUNK_ROWS = 1_000  # rows checked and sent at a time
STAGING = "loan_tape_staging"
LOAN_COLUMNS = [name for name, column in tape.COLUMNS.items() if not column.pii]
STAGED_COLUMNS = ["row_no", "has_error", "debtor", "title_hash", "pii", *LOAN_COLUMNS]
# COPY's text format: tab-separated, \N for NULL, backslash escapes in free text (other columns are checked forms).
NULL = "\\N"
FREE_TEXT = frozenset(name for name in LOAN_COLUMNS if tape.COLUMNS[name].free_text)
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def loan_tape_upload(
    *, user: User, portfolio: Portfolio, file: UploadedFile, mapping: dict[str, str] | None = None
) -> LoanTapeImport:
    """Store a seller's tape privately and queue its import; the job reports progress and problems."""
    _require_seller_member(user=user, seller=portfolio.seller)
    if portfolio.status not in rules.EDITABLE:
        raise PortfolioError("not_editable", _("A loan tape can be uploaded to drafts and rejected listings only."))
    mapping = mapping or {}
    if problems := tape.mapping_problems(mapping):
        raise ValidationError({"mapping": problems})
    file_format = _file_format(file)
    job = LoanTapeImport(
        portfolio=portfolio,
        uploaded_by=user,
        file_name=(file.name or "")[-255:],
        file_format=file_format,
        file_size=file.size or 0,
        mapping=mapping,
    )
    try:
        with transaction.atomic():
            job.file.save(file.name or f"tape.{file_format}", file, save=False)
            job.save()
            loan_tape_import_run.delay_on_commit(job.pk)  # type: ignore[attr-defined]
    except BaseException:
        if job.file:
            job.file.delete(save=False)  # nothing half-stored
        raise
    return job


def _file_format(file: UploadedFile) -> str:
    """`csv` or `xlsx` if the upload is within the size limit and its content is what its name says."""
    limit = settings.LOAN_TAPE_MAX_UPLOAD_BYTES
    if file.size is None or file.size > limit:
        raise ValidationError({"file": _("The file is larger than %(n)d MB.") % {"n": limit // (1024 * 1024)}})
    file.seek(0)
    file_format = tape_files.sniff(file.read(64 * 1024), file.name or "")
    file.seek(0)
    if file_format == "xlsx" and not tape_files.is_workbook(file):
        file_format = None
    file.seek(0)
    if file_format is None:
        raise ValidationError(
            {
                "file": _(
                    "Upload a CSV file (UTF-8, comma-separated) or an XLSX workbook whose content matches its name."
                )
            }
        )
    return file_format


def loan_tape_import(*, job_id: int) -> LoanTapeImport:
    """Run one import to the end (the Celery task calls this). A finished job is left as it is."""
    job = LoanTapeImport.objects.select_related("portfolio").get(pk=job_id)
    if job.status in (Status.SUCCEEDED, Status.FAILED):
        return job
    job.issues.all().delete()  # a redelivered task starts over
    job.status, job.started_at, job.progress = Status.RUNNING, timezone.now(), 0.0
    job.save(update_fields=["status", "started_at", "progress"])
    run = _Import(job)
    try:
        run.execute()
    except Exception:
        logger.exception("loan-tape import %s stopped", job.pk)
        run.add(None, "", "import_error", _("The import stopped unexpectedly; nothing was imported."))
        run.finish(succeeded=False)
        raise
    finally:
        if job.file:  # the plain-text tape is not kept once its identities are in the vault (or refused)
            job.file.delete(save=False)
            job.save(update_fields=["file"])
    return job


class _Import:
    """The state of one running import: counters, problems waiting to be saved, the staging table."""

    def __init__(self, job: LoanTapeImport) -> None:
        self.job = job
        self.portfolio = job.portfolio
        self.pending: list[ImportIssue] = []
        self.stored = 0
        self.seconds: dict[str, float] = {}  # time spent in each phase, for the log
        self.last_row = 1  # the last row read from the file
        self.job.rows_read = self.job.rows_with_errors = self.job.error_count = self.job.loans_imported = 0

    def add(self, row: int | None, column: str, code: str, message: str) -> None:
        self.job.error_count += 1
        if self.stored + len(self.pending) < settings.LOAN_TAPE_MAX_STORED_ERRORS:
            self.pending.append(ImportIssue(job=self.job, row=row, column=column, code=code, message=message))

    def save_progress(self, progress: float) -> None:
        ImportIssue.objects.bulk_create(self.pending)
        self.stored += len(self.pending)
        self.pending = []
        self.job.progress = round(progress, 3)
        self.job.save(update_fields=["progress", "rows_read", "rows_with_errors", "error_count"])

    def finish(self, *, succeeded: bool) -> None:
        self.save_progress(1.0)
        self.job.status = Status.SUCCEEDED if succeeded else Status.FAILED
        self.job.finished_at = timezone.now()
        self.job.save(update_fields=["status", "finished_at", "loans_imported"])
        logger.info(
            "loan-tape import %s %s: %d rows, %d errors; seconds %s",
            self.job.pk,
            self.job.status,
            self.job.rows_read,
            self.job.error_count,
            self.seconds,
        )

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = round(time.monotonic() - started, 2)

    def execute(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(_staging_ddl(cursor))
            try:
                try:
                    with self.phase("read"), self.job.file.open("rb") as file, _no_cyclic_gc():
                        self.stage(cursor, file.file)
                except tape_files.UNREADABLE as error:
                    message = _("The file cannot be read after row %(row)d: %(error)s. Save it as UTF-8 CSV or XLSX.")
                    self.add(None, "", "unreadable", message % {"row": self.last_row, "error": error})
                    self.finish(succeeded=False)
                    return
                if self.job.rows_read:
                    with self.phase("check"):
                        cursor.execute(f"ANALYZE {STAGING}")
                        self.check_across_rows(cursor)
                if self.job.error_count:
                    self.finish(succeeded=False)
                    return
                try:
                    self.swap(cursor)
                except PortfolioError as refusal:
                    self.add(None, "", refusal.code, refusal.message)
                    self.finish(succeeded=False)
            finally:
                cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")

    def rows(self, binary: IO[bytes]) -> tuple[Iterator[list[str]], Any]:
        """The file's rows and a function giving how far the reading is (0 to 1)."""
        if self.job.file_format == LoanTapeImport.Format.XLSX:
            total, rows = tape_files.xlsx_rows(binary)
            return rows, lambda row_no: row_no / total if total else 0.0
        size = max(self.job.file_size, 1)
        return tape_files.csv_rows(binary), lambda row_no: binary.tell() / size

    def stage(self, cursor: Any, binary: IO[bytes]) -> None:
        """Read, check and COPY every row into the staging table, saving progress after each batch."""
        rows, done = self.rows(binary)
        header = next(rows, None)
        if header is None:
            self.add(None, "", "empty_tape", _("The file has no header row."))
            return
        plan, header_issues = tape.header_positions(header, self.job.mapping)
        for column, code, message in header_issues:
            self.add(1, column, code, message)
        if any(code == "missing_column" for _column, code, _message in header_issues):
            return
        numbered = self.numbered(rows)
        copy_sql = f"COPY {STAGING} ({', '.join(STAGED_COLUMNS)}) FROM STDIN"
        hasher = vault.Hasher()
        while batch := list(islice(numbered, BATCH_ROWS)):
            with cursor.copy(copy_sql) as copy:
                # Small chunks: the server stores one while the next is checked.
                for start in range(0, len(batch), CHUNK_ROWS):
                    copy.write(self.staged_text(batch[start : start + CHUNK_ROWS], plan, hasher))
            self.save_progress(0.9 * min(done(batch[-1][0]), 1.0))
        if not self.job.rows_read:
            self.add(None, "", "empty_tape", _("The tape has no loans."))

    def numbered(self, rows: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
        """Rows with their spreadsheet row numbers (the header is 1); blank lines are skipped but counted."""
        for row_no, cells in enumerate(rows, start=2):
            self.last_row = row_no
            if any(cells):
                yield row_no, cells

    def staged_text(self, batch: list[tuple[int, list[str]]], plan: tape.Plan, hasher: vault.Hasher) -> str:
        """A batch of rows checked, their debtors hashed and sealed, as lines of COPY's text format."""
        row_numbers = [row_no for row_no, _cells in batch]
        cutoff = self.portfolio.cutoff_date.isoformat()
        values, issues = tape.batch_check(
            [cells for _row_no, cells in batch], plan, cutoff=cutoff, currency=self.portfolio.currency
        )
        self.job.rows_read += len(batch)
        self.job.rows_with_errors += len(issues)
        for index in sorted(issues):
            for column_name, code, message in issues[index]:
                self.add(row_numbers[index], column_name, code, message)
        debtors, titles, sealed = self.identities(values, hasher)
        columns = [
            list(map(str, row_numbers)),
            ["t" if index in issues else "f" for index in range(len(batch))],
            debtors,
            titles,
            sealed,
        ]
        for name in LOAN_COLUMNS:
            column = values[name]
            if name in FREE_TEXT and _needs_escapes("".join(filter(None, column))):
                column = [None if value is None else value.translate(COPY_ESCAPES) for value in column]
            columns.append([NULL if value is None else value for value in column])
        return "".join(line + "\n" for line in map("\t".join, zip(*columns, strict=True)))

    def identities(self, values: dict[str, list[str | None]], hasher: vault.Hasher) -> tuple[list[str], ...]:
        """Per row: the debtor's pseudonym, the debt's title hash and the sealed identity (COPY text, or NULL)."""
        debtors, titles, sealed = [], [], []
        seal = not self.job.error_count  # a failed tape keeps nothing: skip the encryption
        pii = zip(*(values[name] for name in tape.PII), strict=True)
        originations = zip(values["origination_date"], values["origination_amount"], strict=True)
        for identity, loan_id, (originated, amount), fields in zip(
            values["national_id"], values["loan_id"], originations, pii, strict=True
        ):
            if not identity:
                debtors.append(NULL)
                titles.append(NULL)
                sealed.append(NULL)
                continue
            debtors.append(hasher.pseudonym(portfolio_id=self.portfolio.pk, identity=identity))
            if originated and amount:
                key = hasher.title(
                    identity=identity, origination_date=originated, origination_amount=tape.amount_key(amount)
                )
                titles.append("\\\\x" + key.hex())
            else:
                titles.append(NULL)
            if seal and loan_id:
                plaintext = tape.SEPARATOR.join(field or "" for field in fields).encode()
                sealed.append(
                    "\\\\x" + vault.seal(plaintext, context=vault.record_context(self.portfolio.pk, loan_id)).hex()
                )
            else:
                sealed.append(NULL)
        return debtors, titles, sealed

    def check_across_rows(self, cursor: Any) -> None:
        """Repeated loan ids, and debts whose title another listing holds (listed or sold), in one query."""
        room = max(settings.LOAN_TAPE_MAX_STORED_ERRORS - self.stored - len(self.pending), 0)
        self.save_progress(0.9)
        cursor.execute(
            f"""
            WITH repeated AS (
                SELECT loan_id, min(row_no) AS first_row FROM {STAGING}
                WHERE loan_id IS NOT NULL GROUP BY loan_id HAVING count(*) > 1
            ), found AS (
                SELECT s.row_no, s.has_error, 'loan_id' AS col, 'duplicate_loan_id' AS code,
                       format(%(repeated)s, r.first_row) AS message
                FROM {STAGING} s JOIN repeated r USING (loan_id) WHERE s.row_no > r.first_row
                UNION ALL
                SELECT s.row_no, s.has_error, 'national_id', 'already_listed', %(listed)s
                FROM {STAGING} s
                WHERE s.title_hash IS NOT NULL AND EXISTS (
                    SELECT 1 FROM portfolios_loan l JOIN portfolios_portfolio p ON p.id = l.portfolio_id
                    WHERE l.title_hash = s.title_hash AND p.id <> %(portfolio)s AND p.status = ANY(%(held)s)
                )
            ), stored AS (
                INSERT INTO portfolios_importissue (job_id, row, "column", code, message)
                SELECT %(job)s, row_no, col, code, message FROM found ORDER BY row_no LIMIT %(room)s
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM found), (SELECT count(DISTINCT row_no) FROM found WHERE NOT has_error),
                   (SELECT count(*) FROM stored)
            """,  # noqa: S608 (the table name is a constant; values are parameters)
            {
                "repeated": _("The same loan id is on row %s."),
                "listed": _(
                    "This debt (same debtor, origination date and amount) is in another listing that is listed or sold."
                ),
                "portfolio": self.portfolio.pk,
                "held": sorted(rules.TITLE_HELD),
                "job": self.job.pk,
                "room": room,
            },
        )
        found, new_rows, stored = cursor.fetchone()
        self.job.error_count += found
        self.job.rows_with_errors += new_rows
        self.stored += stored

    def swap(self, cursor: Any) -> None:
        """Replace the portfolio's loans and vault records with the staged tape, all in one transaction."""
        with transaction.atomic():
            portfolio = Portfolio.objects.select_for_update().get(pk=self.portfolio.pk)
            if portfolio.status not in rules.EDITABLE:
                raise PortfolioError("not_editable", _("The listing was submitted during the import; nothing changed."))
            if LoanTapeImport.objects.filter(portfolio=portfolio, pk__gt=self.job.pk).exists():
                raise PortfolioError("superseded", _("A newer tape was uploaded; this one was not imported."))
            with self.phase("delete"):
                cursor.execute(
                    "DELETE FROM portfolios_vaultrecord v USING portfolios_loan l "
                    "WHERE v.loan_id = l.id AND l.portfolio_id = %s",
                    [portfolio.pk],
                )
                cursor.execute("DELETE FROM portfolios_loan WHERE portfolio_id = %s", [portfolio.pk])
            columns = ", ".join(LOAN_COLUMNS)
            with self.phase("loans"):
                cursor.execute(
                    f"INSERT INTO portfolios_loan (id, portfolio_id, debtor, title_hash, {columns}) "  # noqa: S608
                    f"SELECT loan_pk, %s, debtor, title_hash, {columns} FROM {STAGING}",
                    [portfolio.pk],
                )
                self.job.loans_imported = cursor.rowcount
            with self.phase("vault"):
                cursor.execute(
                    f"INSERT INTO portfolios_vaultrecord (loan_id, ciphertext) SELECT loan_pk, pii FROM {STAGING}"  # noqa: S608
                )
            with self.phase("figures"):
                portfolio_stats_compute(portfolio=portfolio, loans_table=STAGING)
            self.finish(succeeded=True)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cycle collector while a tape is read.

    Reading makes millions of short-lived lists and no reference cycles; the collector's passes over each batch's
    rows cost about a fifth of the reading time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _needs_escapes(text: str) -> bool:
    return "\\" in text or "\t" in text or "\n" in text or "\r" in text


def _staging_ddl(cursor: Any) -> str:
    cursor.execute("SELECT pg_get_serial_sequence('portfolios_loan', 'id')")
    (sequence,) = cursor.fetchone()
    types = {name: Loan._meta.get_field(name).db_type(connection) for name in LOAN_COLUMNS}
    columns = ", ".join(f"{name} {types[name]}" for name in LOAN_COLUMNS)
    # loan_pk is drawn from the loans' own sequence while COPY loads, so the swap needs no join to link vault rows.
    return (
        f"CREATE TEMPORARY TABLE {STAGING} (row_no integer, has_error boolean, "
        f"loan_pk bigint DEFAULT nextval('{sequence}'), debtor text, title_hash bytea, pii bytea, {columns})"
    )
