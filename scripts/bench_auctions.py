"""Auction engine benchmark, printed not asserted: accepted bids/s on one hot auction with 8 and 32 concurrent bidders
through the service and through the HTTP API, next to the raw SQL limit (pgbench running the same BEGIN / SELECT FOR
UPDATE / UPDATE / INSERT / COMMIT on the same database) measured in the same run; then the time to close 10,000
auctions that end in the same second, each exactly once.

Runs on its own database (`<name>_bench`, recreated) next to the one DATABASE_URL names.
"""

import argparse
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT))

SQL_LIMIT_SCRIPT = """BEGIN;
SELECT price, seq FROM bench_hot WHERE id = 1 FOR UPDATE;
UPDATE bench_hot SET price = price + 1, seq = seq + 1 WHERE id = 1;
INSERT INTO bench_ledger (auction_id, amount, placed_at) VALUES (1, 1, now());
COMMIT;
"""
# wrk: each thread rotates through its share of the bidders' tokens and bids the latest minimum it has seen.
WRK_SCRIPT = r"""
local tokens, thread_index, threads = {}, 0, {}
function setup(thread)
  thread:set("index", thread_index); thread_index = thread_index + 1; table.insert(threads, thread)
end
function init(args)
  for token in string.gmatch(os.getenv("BENCH_TOKENS"), "[^,]+") do table.insert(tokens, token) end
  mine, nextmin, accepted, other, turn = {}, os.getenv("BENCH_START"), 0, 0, 0
  local count = tonumber(os.getenv("BENCH_THREADS"))
  for i = index + 1, #tokens, count do table.insert(mine, tokens[i]) end
end
function request()
  turn = turn % #mine + 1
  local amount = string.format("%.2f", tonumber(nextmin) + math.random(0, #tokens - 1))
  return wrk.format("POST", os.getenv("BENCH_PATH"), {["Content-Type"] = "application/json",
    ["Authorization"] = "Token " .. mine[turn]}, '{"amount": "' .. amount .. '"}')
end
function response(status, headers, body)
  if status == 201 then accepted = accepted + 1 elseif status ~= 409 then other = other + 1 end
  local seen = string.match(body, '"min_next_bid":%s*"([%d%.]+)"')
  if seen and tonumber(seen) > tonumber(nextmin) then nextmin = seen end
end
function done(summary, latency, requests)
  local total, others = 0, 0
  for _, thread in ipairs(threads) do total = total + thread:get("accepted"); others = others + thread:get("other") end
  io.write(string.format("accepted %d requests %d other %d\n", total, summary.requests, others))
end
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_database_url() -> str:
    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/") or "marketplace"
    bench = urlunsplit(url._replace(path=f"/{name}_bench"))
    with psycopg.connect(urlunsplit(url._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}_bench" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}_bench"')
    return bench


def sql_limit(url: str, clients: int, seconds: int) -> float:
    """pgbench's transactions/s for the engine's locking transaction on one hot row."""
    pgbench = shutil.which("pgbench")
    if pgbench is None:
        raise SystemExit("pgbench is missing (Debian: apt-get install postgresql-contrib)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_hot, bench_ledger")
        conn.execute("CREATE TABLE bench_hot (id int PRIMARY KEY, price numeric(18, 2), seq bigint)")
        conn.execute("INSERT INTO bench_hot VALUES (1, 0, 0)")
        conn.execute(
            "CREATE TABLE bench_ledger (id bigserial PRIMARY KEY, auction_id int, amount numeric(18, 2), "
            "placed_at timestamptz)"
        )
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(SQL_LIMIT_SCRIPT)
        script.flush()
        parts = urlsplit(url)
        host = parts.hostname or dict(p.split("=") for p in parts.query.split("&") if p).get("host", "")
        argv = [pgbench, "-n", "-f", script.name, "-c", str(clients), "-j", "2", "-T", str(seconds)]
        argv += ["-h", host, "-U", parts.username or "postgres", parts.path.lstrip("/")]
        if parts.port:
            argv[-1:-1] = ["-p", str(parts.port)]
        output = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"tps = ([\d.]+)", output).group(1))  # type: ignore[union-attr]


def _python_client(deadline: float, results: Any) -> None:
    """The SQL limit's transaction from Python through Django's connection (psycopg underneath), nothing else."""
    from django.db import connection, connections, transaction

    connections.close_all()
    done = 0
    statements = [line for line in SQL_LIMIT_SCRIPT.splitlines() if line not in ("BEGIN;", "COMMIT;")]
    while time.monotonic() < deadline:
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        done += 1
    results.put(done)


def python_limit(url: str, clients: int, seconds: int) -> float:
    """Transactions/s of the same transaction run by `clients` Python processes: what any Django service could
    reach here at best, as its CPU shares the machine's two cores with PostgreSQL's."""
    sql_limit(url, 1, 1)  # (re)creates the tables
    deadline = time.monotonic() + seconds
    done, elapsed = forked(_python_client, [(deadline,)] * clients, timeout=seconds + 60)
    return sum(done) / elapsed


def django_setup(url: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="marketplace.settings.local",
        DEBUG="false",
        BID_RATE_LIMIT="1000000000",  # the limits guard against abuse: here every bidder bids as fast as it can
        API_USER_RATE="1000000000/min",
        LOG_LEVEL="ERROR",
        DB_POOL_MAX="40",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def world(bidders: int) -> tuple[Any, list[Any], list[str]]:
    """A seller, a hot auction, and `bidders` professional buyers with deposits and API tokens."""
    from django.utils import timezone

    from accounts.models import RiskWarning, User
    from accounts.services import api_token_create
    from tests.factories import Market

    count = User.objects.count()

    def make_user(email: str, **fields: Any) -> User:
        return User.objects.create_user(email=f"{count}-{email}", email_verified_at=timezone.now())

    warning = RiskWarning.objects.order_by("-published_at").first()
    market = Market(make_user, warning, seller_name=f"Bench AMC {count}")  # type: ignore[arg-type]
    auction = market.auction(
        starting_price="1000.00",
        increment="1.00",
        ends_at=timezone.now() + timedelta(hours=3),
        soft_close_window=timedelta(0),
    )
    buyers, tokens = [], []
    for i in range(bidders):
        buyer = market.buyer(f"bidder{i}", deposit_on=auction)
        buyers.append(buyer)
        tokens.append(api_token_create(user=buyer, name="bench")[1])
    return auction, buyers, tokens


def _before_fork() -> None:
    """Children must not share the parent's connection pool (its sockets and its threads)."""
    from django.db import connections

    connections.close_all()
    for connection in connections.all():
        connection.close_pool()  # type: ignore[attr-defined]


def forked(target: Any, argsets: list[tuple[Any, ...]], timeout: float) -> tuple[list[Any], float]:
    """Run `target(*args, results)` in one forked process per `args`; what each put on `results`, and the seconds
    from starting them until the last answered."""
    _before_fork()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [context.Process(target=target, args=(*args, results)) for args in argsets]
    started = time.monotonic()
    for process in processes:
        process.start()
    answers = [results.get(timeout=timeout) for _ in processes]
    elapsed = time.monotonic() - started
    for process in processes:
        process.join()
    return answers, elapsed


def _bidder(auction_id: int, user_id: int, deadline: float, bidders: int, results: Any) -> None:
    """Bid until the deadline: the latest minimum seen plus a random number of increments (0 to bidders - 1), so
    that concurrent bids differ, as real ones do."""
    import random

    from django.db import connections

    from accounts.models import User
    from auctions import services
    from auctions.models import Auction

    connections.close_all()
    user = User.objects.get(pk=user_id)
    rng = random.Random(user_id)  # noqa: S311 - load shape, not secrets
    minimum, accepted, attempts = Decimal("1000.00"), 0, 0
    while time.monotonic() < deadline:
        attempts += 1
        amount = minimum + rng.randrange(bidders)  # the increment is 1.00
        try:
            outcome = services.bid_place(user=user, auction_id=auction_id, amount=f"{amount:.2f}")
            accepted += len([bid for bid in outcome.bids if bid.bidder_id == user_id])
            minimum = outcome.auction.min_next_bid
        except services.AuctionError as error:
            if error.code == "too_low":
                minimum = Decimal(error.extra["min_next_bid"])
            elif error.code == "already_leading":
                minimum = Auction.objects.values_list("min_next_bid", flat=True).get(pk=auction_id)
            else:
                raise
    results.put((accepted, attempts))


def service_rate(bidders: int, seconds: int) -> tuple[float, float]:
    """Accepted bids/s and bid decisions/s (accepted or refused) through `bid_place`, one process per bidder (as
    separate web workers would be)."""

    auction, buyers, _ = world(bidders)
    deadline = time.monotonic() + seconds + 1
    argsets = [(auction.pk, buyer.pk, deadline, bidders) for buyer in buyers]
    totals, elapsed = forked(_bidder, argsets, timeout=seconds + 60)
    return sum(accepted for accepted, _ in totals) / elapsed, sum(attempts for _, attempts in totals) / elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_rate(bidders: int, seconds: int) -> tuple[float, float]:
    """Accepted bids/s and responses/s through POST /api/v1/auctions/{id}/bids/ on uvicorn with two worker processes
    (wrk)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing (Debian: apt-get install wrk)")
    from django.db import connections

    auction, _, tokens = world(bidders)
    connections.close_all()
    port = free_port()
    server = subprocess.Popen(
        [BIN / "uvicorn", "marketplace.asgi:application", "--port", str(port), "--workers", "2", "--no-access-log"],
        cwd=ROOT,
        env={**os.environ, "DB_POOL_MAX": "20"},
        start_new_session=True,
    )
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        time.sleep(1)  # both workers up
        with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
            script.write(WRK_SCRIPT)
            script.flush()
            env = {
                **os.environ,
                "BENCH_TOKENS": ",".join(tokens),
                "BENCH_START": "1000.00",
                "BENCH_THREADS": "2",
                "BENCH_PATH": f"/api/v1/auctions/{auction.pk}/bids/",
            }
            argv = [wrk, "-t2", f"-c{bidders}", f"-d{seconds}s", "-s", script.name, f"http://127.0.0.1:{port}"]
            output = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    accepted, requests, other = map(int, re.search(r"accepted (\d+) requests (\d+) other (\d+)", output).groups())  # type: ignore[union-attr]
    if other:
        log(f"HTTP: {other} of {requests} responses were neither 201 nor 409 (too low); the figure is not the engine's")
    return accepted / seconds, requests / seconds


def _sweeper(results: Any) -> None:
    from django.db import connections

    from auctions import services

    connections.close_all()
    results.put(services.auctions_sweep()[1])


def closing_time(count: int, sweepers: int) -> tuple[float, int, int]:
    """Seconds from the common end until `count` auctions are closed by `sweepers` processes (as Celery workers
    running the sweep would); plus how many were closed and how many `closed` events exist (must both be count)."""
    from django.utils import timezone

    from auctions.models import Auction, AuctionEvent
    from portfolios.models import Portfolio

    auction, *_ = world(1)
    seller, trader = auction.portfolio.seller, auction.created_by
    now = timezone.now()
    end = now + timedelta(seconds=3)
    portfolios = Portfolio.objects.bulk_create(
        Portfolio(
            seller=seller,
            created_by=trader,
            title=f"Bulk lot {i}",
            debt_type="sme",
            cutoff_date=now.date(),
            status=Portfolio.Status.IN_AUCTION,
        )
        for i in range(count)
    )
    Auction.objects.bulk_create(
        Auction(
            portfolio=portfolio,
            status=Auction.Status.LIVE,
            currency="CNY",
            starts_at=now - timedelta(hours=1),
            ends_at=end,
            closes_at=end,
            starting_price=Decimal(1000),
            reserve_price=Decimal(1000),
            increment=Decimal(10),
            deposit_amount=Decimal(100),
            min_next_bid=Decimal(1000),
            created_by=trader,
        )
        for portfolio in portfolios
    )
    time.sleep(max(0.0, (end - timezone.now()).total_seconds()))
    counts, elapsed = forked(_sweeper, [()] * sweepers, timeout=600)
    closed = sum(counts)
    events = AuctionEvent.objects.filter(kind="closed", auction__portfolio__title__startswith="Bulk lot").count()
    return elapsed, closed, events


def sequential(bids: int) -> None:
    """One professional buyer after another, alone on the auction (no contention): wall time, this process's CPU,
    the PostgreSQL backend's CPU (read from /proc, so the server must run on this machine) and the statements of one
    accepted bid (the first bids prepare the statements and create the seats; they are not counted)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from auctions import services

    auction, buyers, _ = world(2)
    price, turn = Decimal("1000.00"), 0

    def bid() -> None:  # the two buyers take turns, so each bid is accepted
        nonlocal price, turn
        turn += 1
        outcome = services.bid_place(user=buyers[turn % 2], auction_id=auction.pk, amount=f"{price:.2f}")
        price = outcome.auction.min_next_bid

    def server_cpu_ms() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    for _ in range(20):
        bid()
    with CaptureQueriesContext(connection) as statements:
        bid()
    runs = []
    for _ in range(3):
        server, cpu, wall = server_cpu_ms(), time.process_time(), time.perf_counter()
        for _ in range(bids):
            bid()
        runs.append(((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, server_cpu_ms() - server))
    wall_ms, python_ms, server_ms = (statistics.median(run[i] for run in runs) / bids for i in range(3))
    print(
        f"\nSequential accepted bids (median of 3 x {bids}): {wall_ms:.1f} ms each; CPU {python_ms:.1f} ms in Python,"
    )
    print(f"{server_ms:.1f} ms in the PostgreSQL backend; {len(statements)} SQL statements per bid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3, help="repetitions per figure; medians are printed")
    parser.add_argument("--closings", type=int, default=10_000)
    parser.add_argument("--sweepers", type=int, default=2)
    parser.add_argument("--sequential", type=int, default=0, help="only time this many bids one after another")
    args = parser.parse_args()
    url = bench_database_url()
    django_setup(url)
    if args.sequential:
        sequential(args.sequential)
        return
    rows = []
    for bidders in (8, 32):
        log(f"{bidders} bidders: pgbench, Python, service, HTTP ({args.reps} x {args.seconds} s each)")
        sql = statistics.median(sql_limit(url, bidders, args.seconds) for _ in range(args.reps))
        python = statistics.median(python_limit(url, bidders, args.seconds) for _ in range(args.reps))
        runs = [service_rate(bidders, args.seconds) for _ in range(args.reps)]
        service = statistics.median(accepted for accepted, _ in runs)
        decided = statistics.median(decisions for _, decisions in runs)
        http_runs = [http_rate(bidders, args.seconds) for _ in range(args.reps)]
        http = statistics.median(accepted for accepted, _ in http_runs)
        http_decided = statistics.median(responses for _, responses in http_runs)
        rows.append((bidders, sql, python, service, decided, http, http_decided))
    log(f"closing {args.closings} auctions that end in the same second with {args.sweepers} sweepers")
    elapsed, closed, events = closing_time(args.closings, args.sweepers)
    print(f"\nOne hot auction, accepted bids/s (median of {args.reps} x {args.seconds} s), 2 cores shared by all:")
    head = f"{'bidders':>8} {'SQL limit':>10} {'Python':>7} {'ratio':>6} {'service':>9} {'ratio':>6} {'decided':>8}"
    print(f"{head} {'HTTP':>8} {'ratio':>6} {'decided':>8}")
    for bidders, sql, python, service, decided, http, http_decided in rows:
        ratios = f"{python:>7.0f} {python / sql:>6.1%} {service:>9.0f} {service / sql:>6.1%} {decided:>8.0f}"
        print(f"{bidders:>8} {sql:>10.0f} {ratios} {http:>8.0f} {http / sql:>6.1%} {http_decided:>8.0f}")
    print("(Python: the SQL limit's transaction run by as many Django processes, the ceiling of any Python service")
    print(" here; decided: bid decisions/s, accepted or refused as too low; service and HTTP count accepted bids)")
    print(
        f"\nClosing {args.closings} auctions ending in the same second: {elapsed:.1f} s with {args.sweepers} sweepers,"
    )
    once = closed == events == args.closings
    print(f"{closed} closed by the sweeps, {events} `closed` events (each exactly once: {once})")


if __name__ == "__main__":
    main()
