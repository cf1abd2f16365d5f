"""Benchmark uvicorn against daphne serving marketplace.asgi: HTTP req/s and latency, WebSocket latency and memory."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from websockets.typing import Origin

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
APP = "marketplace.asgi:application"
SERVERS = ("uvicorn", "daphne")
PAGE, API = "/accounts/login/", "/api/v1/me/"
UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
COLUMNS = [
    ("page r/s", "page_rps"), ("page p50", "page_p50"), ("page p99", "page_p99"),
    ("api r/s", "api_rps"), ("api p50", "api_p50"), ("api p99", "api_p99"),
    ("ws p50", "ws_p50"), ("ws p99", "ws_p99"), ("RSS0 MiB", "rss0_mib"), ("KiB/conn", "kib_per_conn"),
]  # fmt: skip
UNEXPECTED = re.compile(r"ERROR|CRITICAL|Traceback|Exception|WARNING(?!.*Unauthorized: /api/v1/me/)")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def command(name: str, port: int) -> list[str]:
    if name == "uvicorn":
        opts = ["--no-access-log", "--loop", "uvloop", "--http", "httptools", "--ws", "websockets"]
        return [str(BIN / "uvicorn"), APP, "--host", "127.0.0.1", "--port", str(port), *opts]
    return [str(BIN / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p", str(port), APP]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def rss_kib(pid: int) -> int:
    """VmRSS of pid plus all its descendants, in KiB."""
    total, todo = 0, [pid]
    while todo:
        proc = todo.pop()
        with contextlib.suppress(OSError, ValueError):
            status_text = Path(f"/proc/{proc}/status").read_text()
            total += int(re.search(r"^VmRSS:\s+(\d+)", status_text, re.M).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{proc}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return total


@contextlib.contextmanager
def server(name: str, env: dict[str, str], log_path: Path) -> Iterator[tuple[int, int]]:
    """Run one server process on a free loopback port until it serves the login page; kill it on exit."""
    port = free_port()
    with log_path.open("w") as out:
        proc = subprocess.Popen(command(name, port), cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while (code := _probe(port)) is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start (exit code {proc.returncode}); see {log_path}")
            time.sleep(0.2)
        if code != 200:
            raise RuntimeError(f"{name}: GET {PAGE} answered {code}; see {log_path}")
        yield proc.pid, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _probe(port: int) -> int | None:
    try:
        return status(port, PAGE)
    except OSError:
        return None


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else 0.0


def wrk(port: int, path: str, seconds: int, conns: int) -> dict[str, float]:
    url = f"http://127.0.0.1:{port}{path}"
    args = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", url]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    lat = {p: float(v) * UNIT_MS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", out, re.M)}
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {
        "rps": _number(r"Requests/sec:\s+([\d.]+)", out),
        "p50": lat["50"],
        "p99": lat["99"],
        "total": _number(r"(\d+) requests in", out),
        "non2xx": _number(r"Non-2xx or 3xx responses: (\d+)", out),
        "errors": errors,
    }


async def ws_bench(pid: int, port: int, n: int, pings: int, conc: int) -> dict[str, float]:
    """Connect n clients in batches, measure RSS growth, then time pings from random clients."""
    uri, origin = f"ws://127.0.0.1:{port}/ws/ping/", Origin(f"http://127.0.0.1:{port}")
    clients: list[ClientConnection] = []
    failed = 0
    rss0 = rss_kib(pid)
    try:
        async with asyncio.timeout(90):
            for start in range(0, n, 50):
                opens = [connect(uri, origin=origin, proxy=None, ping_interval=None, close_timeout=2)] * 0
                opens = [
                    connect(uri, origin=origin, proxy=None, ping_interval=None, close_timeout=2)
                    for _ in range(min(50, n - start))
                ]
                for result in await asyncio.gather(*opens, return_exceptions=True):
                    if isinstance(result, ClientConnection):
                        clients.append(result)
                    else:
                        failed += 1
        if failed or not clients:
            log(f"  WARNING: {failed} of {n} WebSocket connections failed")
        await asyncio.sleep(1)
        rss1 = rss_kib(pid)
        response = clients[0].response
        log(f"  ws extensions: {response.headers.get('Sec-WebSocket-Extensions', 'none') if response else '?'}")
        locks = [asyncio.Lock() for _ in clients]
        picks = iter([random.randrange(len(clients)) for _ in range(pings)])  # noqa: S311
        latencies: list[float] = []

        async def worker() -> None:
            for i in picks:
                async with locks[i]:
                    sent = time.perf_counter()
                    await clients[i].send(json.dumps({"type": "ping", "data": i}))
                    reply = json.loads(await clients[i].recv())
                    latencies.append((time.perf_counter() - sent) * 1000)
                if reply.get("type") != "pong" or reply.get("echo") != i:
                    raise RuntimeError(f"unexpected reply {reply!r}")

        async with asyncio.timeout(90):
            await asyncio.gather(*(worker() for _ in range(conc)))
        cuts = statistics.quantiles(latencies, n=100)
        kib = (rss1 - rss0) / len(clients)
        return {"ws_p50": cuts[49], "ws_p99": cuts[98], "rss0_mib": rss0 / 1024, "kib_per_conn": kib}
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.close() for c in clients), return_exceptions=True), 15)


def http_phase(port: int, args: argparse.Namespace) -> dict[str, float]:
    row: dict[str, float] = {}
    for key, path, want in (("page", PAGE, 200), ("api", API, 401)):
        if (code := status(port, path)) != want:
            raise RuntimeError(f"GET {path} answered {code}, expected {want}")
        wrk(port, path, args.warmup, args.conns)
        res = wrk(port, path, args.seconds, args.conns)
        wrong = res["non2xx"] if want < 300 else res["total"] - res["non2xx"]
        if wrong or res["errors"]:
            log(f"  WARNING: {path}: {wrong:.0f} wrong statuses, {res['errors']:.0f} socket errors")
        row |= {f"{key}_rps": res["rps"], f"{key}_p50": res["p50"], f"{key}_p99": res["p99"]}
    return row


def print_table(results: dict[str, list[dict[str, float]]]) -> None:
    header = f"{'server':<16}" + "".join(f"{title:>10}" for title, _ in COLUMNS)
    print("HTTP latencies and WS round trips in ms; every run, then medians:\n" + header)
    medians = {s: {k: statistics.median(r[k] for r in runs) for _, k in COLUMNS} for s, runs in results.items()}
    for label, row in [(f"{s} #{i + 1}", r) for s, runs in results.items() for i, r in enumerate(runs)] + [
        (f"{s} median", medians[s]) for s in SERVERS
    ]:
        print(f"{label:<16}" + "".join(f"{row[k]:>10.1f}" for _, k in COLUMNS))
    ratio = [medians["uvicorn"][k] / medians["daphne"][k] if medians["daphne"][k] else float("nan") for _, k in COLUMNS]
    print(f"{'uvicorn/daphne':<16}" + "".join(f"{r:>10.2f}" for r in ratio))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for flag, default in [("reps", 3), ("seconds", 8), ("warmup", 2), ("conns", 16), ("ws-clients", 1000)]:
        parser.add_argument(f"--{flag}", type=int, default=default)
    parser.add_argument("--pings", type=int, default=2000)
    parser.add_argument("--ping-concurrency", type=int, default=16)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="bench_asgi-"))
    env = {**os.environ, "STATIC_ROOT": str(work / "static")}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in SERVERS}
    try:
        log(f"collectstatic into {work / 'static'}; server logs in {work}")
        subprocess.run([BIN / "python", "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        for rep in range(1, args.reps + 1):
            for name in SERVERS:
                log(f"run {rep}/{args.reps}: {name}")
                with server(name, env, work / f"{name}-{rep}.log") as (pid, port):
                    row = http_phase(port, args)
                    row |= asyncio.run(ws_bench(pid, port, args.ws_clients, args.pings, args.ping_concurrency))
                results[name].append(row)
                log("  " + ", ".join(f"{k}={v:.1f}" for k, v in row.items()))
    finally:
        shutil.rmtree(work / "static", ignore_errors=True)
    print_table(results)
    for path in sorted(work.glob("*.log")):
        bad = [line.rstrip() for line in path.open() if UNEXPECTED.search(line)]
        print(f"{path}: {len(bad)} unexpected log lines" + "".join(f"\n    {line[:160]}" for line in bad[:3]))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
