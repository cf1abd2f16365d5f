"""Benchmark uvicorn against daphne serving marketplace.asgi: HTTP req/s and latency, WebSocket latency and memory."""

import argparse
import asyncio
import contextlib
import functools
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
APP = "marketplace.asgi:application"
SERVERS = ("uvicorn", "daphne")
PAGE, API = "/accounts/login/", "/api/v1/me/"
UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
HTTP_COLUMNS = [f"{p} {m}" for p in ("page", "api") for m in ("r/s", "p50", "p99")]
COLUMNS = [*HTTP_COLUMNS, "ws p50", "ws p99", "RSS0 MiB", "KiB/conn"]
INT_OPTIONS = dict(reps=3, seconds=8, warmup=2, conns=16, ws_clients=1000, pings=2000, ping_concurrency=16)
UNEXPECTED = re.compile(r"ERROR|CRITICAL|Traceback|Exception|WARNING(?!.*Unauthorized: /api/v1/me/)")
COLLECTSTATIC = [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"]
log = functools.partial(print, file=sys.stderr, flush=True)


def status(port: int, path: str) -> int:
    with contextlib.closing(http.client.HTTPConnection("127.0.0.1", port, timeout=5)) as conn:
        conn.request("GET", path)
        return conn.getresponse().status


def rss_kib(pid: int) -> int:
    """VmRSS of pid plus all its descendants, in KiB."""
    total, todo = 0, [pid]
    while todo:
        proc = todo.pop()
        with contextlib.suppress(OSError, ValueError):
            total += int(_number(r"^VmRSS:\s+(\d+)", Path(f"/proc/{proc}/status").read_text()))
            for task in Path(f"/proc/{proc}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return total


@contextlib.contextmanager
def server(name: str, uvicorn_ws: str, env: dict[str, str], log_path: Path) -> Iterator[tuple[int, int]]:
    """Run one server process on a free loopback port until it answers; kill its process group on exit."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    opts = ["--no-access-log", "--loop", "uvloop", "--http", "httptools", "--ws", uvicorn_ws]
    uvicorn = [str(BIN / "uvicorn"), APP, "--host", "127.0.0.1", "--port", str(port), *opts]
    daphne = [str(BIN / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p", str(port), APP]
    cmd = uvicorn if name == "uvicorn" else daphne
    with log_path.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                status(port, PAGE)
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start (exit code {proc.returncode}); see {log_path}")
            time.sleep(0.2)
        yield proc.pid, port
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is None:
                os.killpg(proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


def wrk(port: int, path: str, seconds: int, conns: int) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 in ms of one wrk run; warns about socket errors and unexpected statuses."""
    args = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}{path}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    lat = {p: float(v) * UNIT_MS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
    total, non2xx = _number(r"(\d+) requests in", out), _number(r"Non-2xx or 3xx responses: (\d+)", out)
    wrong = non2xx if path == PAGE else total - non2xx  # the API answers 401 on purpose
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    if wrong or errors:
        log(f"  WARNING: {path}: {wrong:.0f} unexpected statuses, {errors} socket errors")
    return _number(r"Requests/sec:\s+([\d.]+)", out), lat["50"], lat["99"]


def http_phase(port: int, args: argparse.Namespace) -> dict[str, float]:
    row: dict[str, float] = {}
    for key, path, want in (("page", PAGE, 200), ("api", API, 401)):
        if (code := status(port, path)) != want:
            raise RuntimeError(f"GET {path} answered {code}, expected {want}")
        wrk(port, path, args.warmup, args.conns)
        rps, p50, p99 = wrk(port, path, args.seconds, args.conns)
        row |= {f"{key} r/s": rps, f"{key} p50": p50, f"{key} p99": p99}
    return row


async def ws_phase(pid: int, port: int, args: argparse.Namespace) -> dict[str, float]:
    """Connect clients in batches of 50, measure the server's RSS growth, then time pings from random clients."""
    uri, origin = f"ws://127.0.0.1:{port}/ws/ping/", {"Origin": f"http://127.0.0.1:{port}"}
    dial = functools.partial(connect, uri, additional_headers=origin, compression=args.compression, proxy=None)
    clients: list[ClientConnection] = []
    rss0 = rss_kib(pid)
    try:
        async with asyncio.timeout(90):
            for start in range(0, args.ws_clients, 50):
                opens = [dial(ping_interval=None, close_timeout=2) for _ in range(min(50, args.ws_clients - start))]
                results = await asyncio.gather(*opens, return_exceptions=True)
                clients += [c for c in results if isinstance(c, ClientConnection)]
        if len(clients) < args.ws_clients:
            log(f"  WARNING: {args.ws_clients - len(clients)} of {args.ws_clients} WebSocket connections failed")
        if not clients:
            raise RuntimeError("no WebSocket connection succeeded")
        await asyncio.sleep(1)
        kib_per_conn = (rss_kib(pid) - rss0) / len(clients)
        headers = clients[0].response.headers if clients[0].response else {}
        log(f"  ws extensions negotiated: {headers.get('Sec-WebSocket-Extensions', 'none')}")
        latencies: list[float] = []

        async def worker(first: int, step: int) -> None:
            for _ in range(args.pings // step):
                i = random.randrange(first, len(clients), step)  # noqa: S311 -- workers never share a client
                sent = time.perf_counter()
                await clients[i].send(json.dumps({"type": "ping", "data": i}))
                reply = json.loads(await clients[i].recv())
                latencies.append((time.perf_counter() - sent) * 1000)
                if reply.get("type") != "pong" or reply.get("echo") != i:
                    raise RuntimeError(f"unexpected reply {reply!r}")

        async with asyncio.timeout(90):
            await asyncio.gather(*(worker(w, args.ping_concurrency) for w in range(args.ping_concurrency)))
        cuts = statistics.quantiles(latencies, n=100)
        return {"ws p50": cuts[49], "ws p99": cuts[98], "RSS0 MiB": rss0 / 1024, "KiB/conn": kib_per_conn}
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.close() for c in clients), return_exceptions=True), 15)


def print_table(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    offer = "offering" if args.compression else "without"
    print(f"{args.conns} HTTP / {args.ws_clients} WS clients ({offer} deflate), uvicorn --ws {args.uvicorn_ws}.")
    print("HTTP latencies and WS round trips in ms; every run, then medians:")
    print(f"{'server':<16}" + "".join(f"{title:>10}" for title in COLUMNS))
    medians = {s: {k: statistics.median(r[k] for r in runs) for k in COLUMNS} for s, runs in results.items()}
    rows = [(f"{s} #{i + 1}", r) for s, runs in results.items() for i, r in enumerate(runs)]
    for label, row in rows + [(f"{s} median", medians[s]) for s in SERVERS]:
        print(f"{label:<16}" + "".join(f"{row[k]:>10.1f}" for k in COLUMNS))
    ratios = [medians["uvicorn"][k] / medians["daphne"][k] if medians["daphne"][k] else float("nan") for k in COLUMNS]
    print(f"{'uvicorn/daphne':<16}" + "".join(f"{r:>10.2f}" for r in ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for flag, default in INT_OPTIONS.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", type=int, default=default)
    parser.add_argument("--no-deflate", dest="compression", action="store_const", const=None, default="deflate")
    parser.add_argument("--uvicorn-ws", default="websockets-sansio", help="uvicorn --ws implementation")
    args = parser.parse_args()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _: sys.exit(128 + signum))
    work = Path(tempfile.mkdtemp(prefix="bench_asgi-"))
    env = {**os.environ, "STATIC_ROOT": str(work / "static")}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in SERVERS}
    try:
        subprocess.run(COLLECTSTATIC, cwd=ROOT, env=env, check=True)
        for rep in range(1, args.reps + 1):
            for name in SERVERS:
                log(f"run {rep}/{args.reps}: {name}")
                with server(name, args.uvicorn_ws, env, work / f"{name}-{rep}.log") as (pid, port):
                    row = http_phase(port, args) | asyncio.run(ws_phase(pid, port, args))
                results[name].append(row)
    finally:
        shutil.rmtree(work / "static", ignore_errors=True)
    print_table(results, args)
    for path in sorted(work.glob("*.log")):
        bad = [line.rstrip() for line in path.open() if UNEXPECTED.search(line)]
        print(f"{path}: {len(bad)} unexpected log lines" + "".join(f"\n    {line[:160]}" for line in bad[:3]))


if __name__ == "__main__":
    main()
