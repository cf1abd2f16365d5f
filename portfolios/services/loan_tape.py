"""Loan-tape upload and import: stream and check every row, COPY the tape straight into its tables in one
transaction; a tape with any problem is read a second time to report every problem.

The import never holds the file in memory: rows are streamed (csv / openpyxl read-only) and checked a batch at a
time (column by column, see tape.batch_check) in a thread of its own, while the main thread sends the batch before
with COPY (tape_copy.ahead). Most tapes have no problem, so the first pass writes the new loans and their sealed
identities straight into the loans and the vault, in one transaction that first deletes the old tape: readers see
the old tape until it commits, and the first problem (a bad cell, a loan id repeated, which the unique index
catches, a debt listed elsewhere) rolls all of it back. Progress is saved on a connection of its own so that
pollers see it meanwhile. Only a tape known to be bad is read again, to report every problem: cells are checked
again, and repeated loan ids and listed debts are found by SQL over a staging table of row numbers, loan ids and
title hashes (nothing that names a debtor).
"""

import gc
import logging
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from itertools import count, islice
from typing import IO, Any

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from portfolios import rules, tape, tape_copy, tape_files, vault
from portfolios.models import ImportIssue, LoanTapeImport, Portfolio
from portfolios.services.listing import PortfolioError, _require_seller_member
from portfolios.services.stats import portfolio_stats_compute
from portfolios.tasks import loan_tape_import_run

logger = logging.getLogger(__name__)

Status = LoanTapeImport.Status
BATCH_ROWS = 20_000  # rows sent at a time; progress is saved between batches
CHUNK_ROWS = 1_000  # rows checked at a time
STAGING = "loan_tape_staging"
LOAN_COLUMNS = tape_copy.LOAN_COLUMNS
IMPORT_LOCK = 0x7461_7065  # advisory-lock namespace: one import at a time per portfolio ("tape")


class _DefectiveTapeError(Exception):
    """The tape has a problem: the first pass stops, and the second reports every problem."""


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
        if not run.load():
            run.report()
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
    """The state of one running import: counters, problems waiting to be saved, time spent in each phase."""

    def __init__(self, job: LoanTapeImport) -> None:
        self.job = job
        self.portfolio = job.portfolio
        self.seconds: dict[str, float] = {}  # time spent in each phase, for the log
        self.reset()

    def reset(self) -> None:
        self.pending: list[ImportIssue] = []
        self.stored = 0
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
        self.job.progress = max(self.job.progress, round(progress, 3))  # the second pass never moves the bar back
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
            self.seconds[name] = round(self.seconds.get(name, 0) + time.monotonic() - started, 2)

    # --- Reading -------------------------------------------------------------------------------------------------

    def rows(self, binary: IO[bytes]) -> tuple[Generator[list[str]], Callable[[int], float]]:
        """The file's rows and a function giving how far the reading is (0 to 1) at a row number."""
        if self.job.file_format == LoanTapeImport.Format.XLSX:
            total, rows = tape_files.xlsx_rows(binary)
            return rows, lambda row_no: min(row_no / total, 1.0) if total else 0.0
        size = max(self.job.file_size, 1)
        return tape_files.csv_rows(binary), lambda row_no: min(binary.tell() / size, 1.0)

    def numbered(self, rows: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
        """Rows with their spreadsheet row numbers (the header is 1); blank lines are skipped but counted."""
        for row_no, cells in enumerate(rows, start=2):
            self.last_row = row_no
            if any(cells):
                yield row_no, cells

    def batches(
        self, rows: Iterator[list[str]], done: Callable[[int], float], plan: tape.Plan, *, seal: bool
    ) -> Generator[tape_copy.Batch]:
        """The tape's rows checked a batch at a time, with their hashes (and, if `seal`, the loans' COPY text and the
        batch's vault block).

        A batch is checked in chunks of CHUNK_ROWS: a chunk's cells fit in the processor's caches, which made the
        column-by-column checks a third cheaper than over the whole batch at once.
        """
        cutoff, currency, hasher = self.portfolio.cutoff_date.isoformat(), self.portfolio.currency, vault.Hasher()
        portfolio_id = self.portfolio.pk
        numbered = self.numbered(rows)
        for number in count():
            if not (rows_of_batch := list(islice(numbered, BATCH_ROWS))):
                return
            row_numbers = [row_no for row_no, _cells in rows_of_batch]
            batch = tape_copy.Batch(number, row_numbers, {}, done(rows_of_batch[-1][0]))
            identities = []  # in clear: kept here only until sealed
            for start in range(0, len(rows_of_batch), CHUNK_ROWS):
                chunk = [cells for _row_no, cells in rows_of_batch[start : start + CHUNK_ROWS]]
                values, issues = tape.batch_check(chunk, plan, cutoff=cutoff, currency=currency)
                batch.issues.update((start + index, found) for index, found in issues.items())
                debtors, titles = tape_copy.identities(values, hasher, portfolio_id=portfolio_id)
                batch.loan_ids.extend(values["loan_id"])
                batch.titles.extend(titles)
                seal = seal and not batch.issues  # a bad batch is not stored
                if seal:
                    batch.loans.append(tape_copy.loan_copy(values, portfolio_id, debtors, titles))
                    identities.extend(tape_copy.identity_rows(values, debtors))
            if seal:
                batch.block = vault.seal_block(identities, portfolio_id=portfolio_id, number=number)
            yield batch

    def unreadable(self, error: Exception) -> None:
        message = _("The file cannot be read after row %(row)d: %(error)s. Save it as UTF-8 CSV or XLSX.")
        self.add(None, "", "unreadable", message % {"row": self.last_row, "error": error})
        self.finish(succeeded=False)

    # --- First pass: straight into the loans and the vault ------------------------------------------------------

    def load(self) -> bool:
        """Import the tape if it has no problem; True when the job is finished, False when the tape has a problem."""
        try:
            with (
                self.job.file.open("rb") as file,
                _no_cyclic_gc(),
                _SideProgress(self.job) as progress,
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                rows, done = self.rows(file.file)
                with closing(rows):  # before the file
                    self.load_rows(cursor, rows, done, progress)
        except (_DefectiveTapeError, IntegrityError, psycopg.IntegrityError):
            return False
        except tape_files.UNREADABLE as error:
            self.unreadable(error)
        except PortfolioError as refusal:
            self.add(None, "", refusal.code, refusal.message)
            self.finish(succeeded=False)
        return True

    def load_rows(
        self, cursor: Any, rows: Iterator[list[str]], done: Callable[[int], float], progress: "_SideProgress"
    ) -> None:
        """The first pass inside its transaction: raises _DefectiveTapeError at the first problem."""
        header = next(rows, None)
        if header is None:
            raise _DefectiveTapeError
        plan, header_issues = tape.header_positions(header, self.job.mapping)
        if header_issues:
            raise _DefectiveTapeError
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [IMPORT_LOCK, self.portfolio.pk])
        with self.phase("delete"):
            cursor.execute("DELETE FROM portfolios_vaultblock WHERE portfolio_id = %s", [self.portfolio.pk])
            cursor.execute("DELETE FROM portfolios_loan WHERE portfolio_id = %s", [self.portfolio.pk])
        with self.phase("load"):
            batches = tape_copy.ahead(self.batches(rows, done, plan, seal=True))
            with closing(batches):
                for batch in batches:
                    self.job.rows_read += len(batch.row_numbers)
                    if batch.issues:
                        raise _DefectiveTapeError
                    with self.phase("copy"):
                        self.copy(cursor, batch)
                    progress.save(0.9 * batch.progress, self.job.rows_read)
        if not self.job.rows_read:
            raise _DefectiveTapeError
        with self.phase("check"):
            if _titles_held_elsewhere(cursor, self.portfolio.pk):
                raise _DefectiveTapeError
        portfolio = self.lock_editable()
        with self.phase("figures"):
            portfolio_stats_compute(portfolio=portfolio)
        self.job.loans_imported = self.job.rows_read
        self.finish(succeeded=True)

    def copy(self, cursor: Any, batch: tape_copy.Batch) -> None:
        """COPY a batch into the loans, and store its identities as one vault block of the portfolio."""
        columns = ", ".join(LOAN_COLUMNS)
        with cursor.copy(f"COPY portfolios_loan (portfolio_id, debtor, title_hash, {columns}) FROM STDIN") as copy:
            for text in batch.loans:
                copy.write(text)
        cursor.execute(
            "INSERT INTO portfolios_vaultblock (portfolio_id, number, ciphertext) VALUES (%s, %s, %s)",
            [self.portfolio.pk, batch.number, batch.block],
        )

    def lock_editable(self) -> Portfolio:
        """The portfolio, locked, if this tape may still replace its loans (else PortfolioError)."""
        portfolio = Portfolio.objects.select_for_update().get(pk=self.portfolio.pk)
        if portfolio.status not in rules.EDITABLE:
            raise PortfolioError("not_editable", _("The listing was submitted during the import; nothing changed."))
        if LoanTapeImport.objects.filter(portfolio=portfolio, pk__gt=self.job.pk).exists():
            raise PortfolioError("superseded", _("A newer tape was uploaded; this one was not imported."))
        return portfolio

    # --- Second pass: every problem -----------------------------------------------------------------------------

    def report(self) -> None:
        """Read the tape again and save every problem with its row and column; nothing is imported."""
        self.reset()
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {STAGING} (row_no integer, has_error boolean, loan_id text, title_hash bytea)"
            )
            try:
                try:
                    with self.phase("report"), self.job.file.open("rb") as file, _no_cyclic_gc():
                        self.stage(cursor, file.file)
                except tape_files.UNREADABLE as error:
                    self.unreadable(error)
                    return
                if self.job.rows_read:
                    cursor.execute(f"ANALYZE {STAGING}")
                    self.check_across_rows(cursor)
                if not self.job.error_count:  # the first pass stopped on something this one does not see
                    self.add(None, "", "import_error", _("The import stopped unexpectedly; nothing was imported."))
                self.finish(succeeded=False)
            finally:
                cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")

    def stage(self, cursor: Any, binary: IO[bytes]) -> None:
        """Check every row, saving its problems, and COPY its row number, loan id and title hash into staging."""
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
        copy_sql = f"COPY {STAGING} (row_no, has_error, loan_id, title_hash) FROM STDIN"
        for batch in self.batches(rows, done, plan, seal=False):
            self.job.rows_read += len(batch.row_numbers)
            self.job.rows_with_errors += len(batch.issues)
            for index in sorted(batch.issues):
                for column_name, code, message in batch.issues[index]:
                    self.add(batch.row_numbers[index], column_name, code, message)
            loan_ids = [
                tape_copy.NULL if value is None else value.translate(tape_copy.COPY_ESCAPES) for value in batch.loan_ids
            ]
            flags = ["t" if index in batch.issues else "f" for index in range(len(batch.row_numbers))]
            with cursor.copy(copy_sql) as copy:
                copy.write("".join(map("{}\t{}\t{}\t{}\n".format, batch.row_numbers, flags, loan_ids, batch.titles)))
            self.save_progress(0.9 * batch.progress)
        if not self.job.rows_read:
            self.add(None, "", "empty_tape", _("The tape has no loans."))

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


class _SideProgress:
    """Saves a job's progress on a database connection of its own, so that pollers see it while the import's
    transaction is open. Progress is only shown: if saving it fails, the import goes on without it."""

    def __init__(self, job: LoanTapeImport) -> None:
        self.job = job
        self.db: Any = None

    def __enter__(self) -> "_SideProgress":
        self.db = connections.create_connection(connection.alias)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.db.close()

    def save(self, progress: float, rows_read: int) -> None:
        self.job.progress, self.job.rows_read = round(progress, 3), rows_read
        if self.db is None:
            return
        try:
            with self.db.cursor() as cursor:
                cursor.execute("SET lock_timeout = '1s'")  # never wait for the import's own transaction
                cursor.execute(
                    f"UPDATE {LoanTapeImport._meta.db_table} SET progress = %s, rows_read = %s WHERE id = %s",  # noqa: S608
                    [self.job.progress, rows_read, self.job.pk],
                )
        except DatabaseError:
            logger.warning("loan-tape import %s: progress not saved", self.job.pk, exc_info=True)
            self.db.close()
            self.db = None


def _titles_held_elsewhere(cursor: Any, portfolio_id: int) -> bool:
    """Whether a debt of this portfolio's loans is in another listing that is listed or sold.

    Asked from the held listings' side, named first: drafts (like the same tape uploaded to several drafts) cost
    nothing, and with no listing held the loans are not read at all. (Asked in one statement, the planner expected a
    match early and read every loan of every portfolio when there was none.)
    """
    cursor.execute(
        "SELECT array_agg(id) FROM portfolios_portfolio WHERE status = ANY(%s) AND id <> %s",
        [sorted(rules.TITLE_HELD), portfolio_id],
    )
    held = cursor.fetchone()[0]
    if not held:
        return False
    cursor.execute(
        """
        SELECT EXISTS (
            SELECT 1 FROM portfolios_loan l
            WHERE l.portfolio_id = ANY(%(held)s)
            AND l.title_hash IN (SELECT title_hash FROM portfolios_loan WHERE portfolio_id = %(portfolio)s)
        )
        """,
        {"portfolio": portfolio_id, "held": held},
    )
    return bool(cursor.fetchone()[0])
