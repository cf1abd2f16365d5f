"""Loan-tape import benchmark: a generated CSV tape through the real import task, next to a plain PostgreSQL COPY.

Run with the project's services (see `make bench`):
    scripts/services.py --prefer-local -- .venv/bin/python scripts/bench_loan_tape.py [--rows N] [--reps N]

Works in a throw-away database (`<database>_bench_loan_tape`, migrated, dropped at the end) and a temporary folder. Each
repetition times a COPY of the file into a plain table of matching column types, then the import of the same file on
a new draft portfolio through the real Celery path: the task (`portfolios.tasks.loan_tape_import_run`) is sent to a
worker this script starts (prefork, one child, a queue of its own) and the job is polled until it ends, its progress
seen moving. Peak RSS is the resident memory of the process that ran the step (this one for COPY, the worker's
child for the import), the kernel's high-water mark (the database server's memory is not counted). CPU seconds are
those of the step's own processes and of the local PostgreSQL server processes of the benchmark's database: on a
machine shared with other work they say where the time goes better than wall time does.
"""

import argparse
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil

ROOT = Path(__file__).resolve().parent.parent
COPY_TYPES = {
    "date": ("origination_date", "default_date", "charge_off_date", "last_payment_date"),
    "numeric": (
        "origination_amount",
        "principal_balance",
        "accrued_interest",
        "other_balances",
        "total_claim",
        "last_payment_amount",
        "interest_rate",
        "collateral_value",
    ),
    "integer": ("days_past_due", "guarantors"),
    "boolean": ("charged_off",),
}
REGIONS = ["Zhejiang", "Jiangsu", "Guangdong", "Sichuan", "Shandong", "Henan", "Hubei", "Fujian", "Hunan", "Anhui"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
LEGAL = ["none", "none", "litigation", "judgment", "enforcement", "insolvency"]
CUTOFF = date(2026, 9, 30)


def generate(path: Path, rows: int, header: list[str]) -> None:
    """A valid tape of `rows` loans with realistic spread (fixed seed, so every run reads the same file)."""
    rng = random.Random(2026)  # noqa: S311 (test data, not secrets)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for n in range(rows):
            principal = rng.randint(2_000, 2_000_000)
            interest, fees = principal * rng.randint(0, 30) // 100, rng.randint(0, 5_000)
            origination = date(2015, 1, 1) + timedelta(days=rng.randint(0, 3_000))
            dpd = rng.randint(31, 2_000)
            defaulted = CUTOFF - timedelta(days=max(dpd - 90, 0))
            charged_off = dpd > 360
            secured = rng.random() < 0.3
            legal = LEGAL[n % len(LEGAL)]
            row = {
                "loan_id": f"LN{n:09d}",
                "borrower_type": "corporate" if n % 9 == 0 else "individual",
                "borrower_id": f"C{n:010d}",
                "borrower_name": rng.choice(SURNAMES) + "某某" + str(n % 1000),
                "national_id": f"3301{rng.randint(10**13, 10**14 - 1)}",
                "phone": f"1{rng.randint(3 * 10**9, 9 * 10**9)}",
                "address": f"{REGIONS[n % 10]}省某市某区{n % 500}号",
                "region": REGIONS[n % 10],
                "currency": "CNY",
                "origination_date": origination.isoformat(),
                "origination_amount": f"{principal * 12 // 10}.00",
                "principal_balance": f"{principal}.{n % 100:02d}",
                "accrued_interest": f"{interest}.00",
                "other_balances": f"{fees}.00",
                "total_claim": f"{principal + interest + fees}.{n % 100:02d}",
                "days_past_due": str(dpd),
                "default_date": defaulted.isoformat(),
                "charged_off": "yes" if charged_off else "no",
                "charge_off_date": (defaulted + timedelta(days=270)).isoformat() if charged_off else "",
                "last_payment_date": (CUTOFF - timedelta(days=dpd)).isoformat(),
                "last_payment_amount": f"{rng.randint(100, 5_000)}.00",
                "interest_rate": f"{rng.randint(300, 2_400) / 100}",
                "collateral_type": "real_estate" if secured else "none",
                "collateral_value": f"{principal * rng.randint(50, 150) // 100}.00" if secured else "",
                "guarantors": str(n % 3),
                "legal_status": legal,
                "case_number": f"(2025)浙0106民初{n}号" if legal in ("judgment", "enforcement") else "",
                "credit_score_band": "ABCDE"[n % 5],
            }
            writer.writerow(row[column] for column in header)


@dataclass
class Step:
    """What one timed step cost: wall time, peak RSS, and CPU seconds of its own processes and of the database's."""

    seconds: float = 0.0
    peak_mib: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float | None = None  # None: no server process of the database seen (PostgreSQL on another machine)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _backends(database: str) -> list[psutil.Process]:
    """The local PostgreSQL server processes serving `database` (their titles name it)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        title = (process.info["cmdline"] or [""])[0]
        if title.startswith("postgres:") and f" {database} " in title:
            found.append(process)
    return found


def _peak_mib(process: psutil.Process, *, reset: bool = False) -> float:
    """The process's peak resident memory (the kernel's high-water mark), optionally starting it afresh first."""
    try:
        if reset:
            Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # 5: reset the peak RSS (Linux 4.0+)
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:  # the process has ended
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def measured(process: psutil.Process | None, database: str) -> Iterator[Step]:
    """Yields a Step that holds, on exit, the peak RSS in MiB of `process` (default: this one) or of any of its
    children while the block ran, and the CPU seconds they and the database's server processes used meanwhile.

    The peak is the kernel's high-water mark, reset as the block starts: exact, and free (of the processes there
    when the block starts: the import's worker child is started before). CPU is sampled every
    second (a server process that ends between samples loses at most that much): sampling memory and CPU every
    10 ms had cost the benchmark itself 30 % of a core, on a machine that has two.
    """
    process, step, done = process or psutil.Process(), Step(), threading.Event()
    members = [process, *process.children(recursive=True)]
    cpu_first: dict[tuple[str, int], float] = {}
    cpu_last: dict[tuple[str, int], float] = {}

    def sample_cpu(*, first: bool) -> None:
        roles = [("client", member) for member in members] + [("server", b) for b in _backends(database)]
        for role, member in roles:
            with suppress(psutil.NoSuchProcess):
                cpu = _cpu(member)
                cpu_first.setdefault((role, member.pid), cpu if first else 0.0)
                cpu_last[role, member.pid] = cpu

    def sample() -> None:
        while not done.wait(1.0):
            sample_cpu(first=False)

    for member in members:
        _peak_mib(member, reset=True)
    sample_cpu(first=True)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield step
    finally:
        done.set()
        sampler.join()
        sample_cpu(first=False)
        step.peak_mib = max(_peak_mib(member) for member in members)
        used = {key: cpu_last[key] - cpu_first[key] for key in cpu_last}
        step.client_cpu = sum(cpu for (role, _pid), cpu in used.items() if role == "client")
        if any(role == "server" for role, _pid in used):
            step.server_cpu = sum(cpu for (role, _pid), cpu in used.items() if role == "server")


def timed(step: Callable[[], None], database: str, process: psutil.Process | None = None) -> Step:
    with measured(process, database) as result:
        started = time.perf_counter()
        step()
        result.seconds = time.perf_counter() - started
    return result


def copy_baseline(path: Path, header: list[str]) -> None:
    """COPY the file as it is into a plain table (columns typed like the tape, no index), streaming it in 1 MiB."""
    from django.db import connection

    types = {column: kind for kind, columns in COPY_TYPES.items() for column in columns}
    columns = ", ".join(f"{column} {types.get(column, 'text')}" for column in header)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute(f"CREATE TABLE bench_copy ({columns})")
        with path.open("rb") as file, cursor.copy("COPY bench_copy FROM STDIN (FORMAT csv, HEADER true)") as copy:
            while chunk := file.read(2**20):
                copy.write(chunk)
        cursor.execute("DROP TABLE bench_copy")


def import_tape(path: Path, rep: int, rows: int, queue: str) -> Callable[[], None]:
    """A draft portfolio with the tape stored as an upload would store it; returns the step that sends the task to
    the worker and polls the job to its end (as the progress bar does), checking that its progress moved."""
    from django.core.files import File

    from accounts.models import Membership, Organization, User
    from portfolios import services
    from portfolios.models import LoanTapeImport
    from portfolios.tasks import loan_tape_import_run

    seller, _created = Organization.objects.get_or_create(name="Bench AMC", kind=Organization.Kind.BANK)
    user, _created = User.objects.get_or_create(email="bench@example.com")
    Membership.objects.get_or_create(user=user, organization=seller, role=Membership.Role.OWNER)
    portfolio = services.portfolio_create(
        user=user,
        seller=seller,
        data={"title": f"Bench {rep}", "debt_type": "sme", "cutoff_date": CUTOFF, "currency": "CNY"},
    )
    job = LoanTapeImport(
        portfolio=portfolio, uploaded_by=user, file_name=path.name, file_format="csv", file_size=path.stat().st_size
    )
    with path.open("rb") as file:
        job.file.save(path.name, File(file), save=True)

    def run() -> None:
        loan_tape_import_run.apply_async((job.pk,), queue=queue)
        seen = [0.0]
        while job.status not in (LoanTapeImport.Status.SUCCEEDED, LoanTapeImport.Status.FAILED):
            time.sleep(0.25)  # a progress bar polls less often still
            job.refresh_from_db(fields=["status", "progress", "loans_imported", "error_count"])
            seen.append(job.progress)
        if not any(0 < progress < 1 for progress in seen) or seen != sorted(seen):
            raise SystemExit(f"the progress did not move forward: {sorted(set(seen))}")
        if job.status != LoanTapeImport.Status.SUCCEEDED or job.loans_imported != rows:
            problems = list(job.issues.values_list("row", "column", "code")[:10])
            raise SystemExit(f"import {job.status}: {job.loans_imported} loans, {job.error_count} errors {problems}")

    return run


@contextmanager
def celery_worker(database: str, media_root: str) -> Iterator[tuple[psutil.Process, str]]:
    """A Celery worker on the benchmark's database, consuming a queue of its own; yields it once it answers."""
    from django.db import connections

    from marketplace.celery import app

    connections.close_all()
    queue = name = f"bench-loan-tape-{os.getpid()}"
    url = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/marketplace")
    env = {**os.environ, "DATABASE_URL": urlunsplit(url._replace(path="/" + database))}
    env |= {"DEBUG": "false", "PRIVATE_MEDIA_ROOT": media_root, "CELERY_TASK_ALWAYS_EAGER": "false"}
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-q",
        "-A",
        "marketplace",
        "worker",
        "-l",
        "warning",
        "-c",
        "1",
        "-Q",
        queue,
    ]
    argv += ["--without-gossip", "--without-mingle", "-n", f"{name}@%h"]
    process = subprocess.Popen(argv, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[f"{name}@{socket.gethostname()}"], timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the Celery worker did not start")
        yield psutil.Process(process.pid), queue
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-tape-") as tmp:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.local")
        os.environ["DEBUG"] = "false"
        os.environ["PRIVATE_MEDIA_ROOT"] = tmp
        import django
        from django.db import connection

        django.setup()
        from portfolios import tape

        header = list(tape.COLUMNS)
        path = Path(tmp) / "tape.csv"
        started = time.perf_counter()
        generate(path, args.rows, header)
        size = path.stat().st_size / 2**20
        print(f"tape: {args.rows:,} rows, {size:,.0f} MiB, generated in {time.perf_counter() - started:.1f} s")

        main_db = connection.settings_dict["NAME"]
        connection.settings_dict["TEST"]["NAME"] = f"{main_db}_bench_loan_tape"  # each site's own
        bench_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            with celery_worker(bench_db, tmp) as (worker, queue):
                results: dict[str, list[Step]] = {"COPY": [], "import": []}
                for rep in range(args.reps):
                    results["COPY"].append(timed(lambda: copy_baseline(path, header), bench_db))
                    results["import"].append(timed(import_tape(path, rep, args.rows, queue), bench_db, worker))
                    print(
                        f"rep {rep + 1}: COPY {results['COPY'][-1].seconds:.1f} s, "
                        f"import {results['import'][-1].seconds:.1f} s",
                        flush=True,
                    )
        finally:
            connection.creation.destroy_test_db(main_db, verbosity=0)
    print(
        f"\nmedians of {args.reps} (rows/s; wall time; peak RSS of the process that ran it; CPU seconds of that process"
        " and its children, and of the PostgreSQL server processes of the database):"
    )
    median: dict[str, Any] = {}
    for name, runs in results.items():
        seconds = statistics.median(run.seconds for run in runs)
        rss = statistics.median(run.peak_mib for run in runs)
        client = statistics.median(run.client_cpu for run in runs)
        servers = [run.server_cpu for run in runs if run.server_cpu is not None]
        server = f"{statistics.median(servers):>6.1f} s" if servers else "     n/a"
        median[name] = seconds
        print(
            f"  {name:<7} {args.rows / seconds:>10,.0f} rows/s  {seconds:>7.1f} s  {rss:>7.0f} MiB"
            f"  CPU: client {client:>5.1f} s, PostgreSQL {server}"
        )
    print(f"  import / COPY: {median['import'] / median['COPY']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
