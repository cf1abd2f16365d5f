"""Real-time fan-out benchmark, printed not asserted: bid -> delivery latency (p50/p99 over every watcher and
every bid) with 1,000, 5,000 and 10,000 watchers spread over two server processes, at 20 bids/s, plus server RSS
per idle watcher; the same for a plain Channels `group_send` consumer (scripts/fanout_baseline.py) measured in the
same run as the baseline.

Runs on its own database (`<name>_bench`, recreated). Watchers run in separate client processes on the same
machine, so the servers share the two cores with the clients, equally for both systems. A frame counts as delivered
when it reached the client host (the kernel's receive timestamp), as it would for a browser on another machine:
the co-located clients poll their sockets every LISTEN_EVERY s rather than being woken for each write, and their
own backlog is not counted as the servers' latency (it was, until December 2026: p99 1.9 s at 10,000 watchers on
the day the two were compared, against 0.2 s at the kernel).
"""

import argparse
import asyncio
import base64
import contextlib
import functools
import json
import multiprocessing
import os
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT))

from scripts.bench_asgi import rss_kib  # noqa: E402
from scripts.bench_auctions import bench_database_url, django_setup, free_port, log, world  # noqa: E402

TIMEVAL = struct.Struct("@ll")  # struct timeval, as SO_TIMESTAMP delivers it
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)  # Linux's value; Python does not name it (SCM_TIMESTAMP = it)
LISTEN_EVERY = 0.02  # seconds between polls of a client process's sockets
APPS = {"ours": "marketplace.asgi:application", "channels group_send": "scripts.fanout_baseline:application"}


@contextlib.contextmanager
def servers(app: str, count: int = 2) -> Any:
    """`count` uvicorn processes of `app`; yields their (pid, port). Their logs are summed up at the end (the
    baseline's can run to many MB of tracebacks)."""
    with tempfile.TemporaryFile("w+") as errors:
        started = []
        for _ in range(count):
            port = free_port()
            argv = [str(BIN / "uvicorn"), app, "--port", str(port), "--no-access-log", "--log-level", "error"]
            argv += ["--ws", "websockets-sansio", "--backlog", "4096", "--ws-per-message-deflate", "false"]
            process = subprocess.Popen(argv, cwd=ROOT, env=os.environ.copy(), start_new_session=True, stderr=errors)
            started.append((process, port))
        try:
            for process, port in started:
                deadline = time.monotonic() + 30
                while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"server on {port} did not start")
                    time.sleep(0.1)
            yield [(process.pid, port) for process, port in started]
        finally:
            for process, _ in started:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
            for process, _ in started:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(15)
            _summarize(app, errors)


def _summarize(app: str, errors: Any) -> None:
    errors.seek(0)
    failures = [line for line in errors.read().splitlines() if line and not line.startswith((" ", "Traceback"))]
    if failures:
        kinds = set(failures) - {"ERROR:    Exception in ASGI application"} or set(failures)
        log(f"{app}: the servers logged {len(failures)} errors, most often: {max(kinds, key=failures.count)}")


class Watch(asyncio.Protocol):
    """A minimal WebSocket watcher (RFC 6455): the upgrade, then frame headers only, answering pings. The clients
    stand in for browsers on other machines, so their CPU should cost the servers' two cores as little as possible;
    both systems get the same client."""

    def __init__(self, host: str, path: str, on_text: Any, chunks: dict[bytes, list[bytes]]) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        self.on_text, self.buffer, self.upgraded = on_text, bytearray(), False
        self.at = 0.0  # when the bytes being read reached this host (epoch s)
        self.chunks = chunks  # shared by the process's sockets: a chunk of whole text frames -> their payloads
        self.opened: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_result(False)

    def data_received(self, data: bytes) -> None:
        if not self.buffer and (frames := self.chunks.get(data)) is not None:
            for payload in frames:  # the same write reached the process's other sockets: parsed there already
                self.on_text(payload, self.at)
            return
        whole = not self.buffer and self.opened.done()
        texts: list[bytes] = []
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.upgraded = True
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.opened.set_result(False)
            del buffer[: end + 4]
        at, size = 0, len(buffer)
        while size - at >= 2:
            length, head = buffer[at + 1] & 0x7F, 2
            if length >= 126:
                head = 4 if length == 126 else 10
                if size - at < head:
                    break
                length = int.from_bytes(buffer[at + 2 : at + head])
            if size - at < head + length:
                break
            opcode, payload = buffer[at] & 0x0F, bytes(buffer[at + head : at + head + length])
            at += head + length
            if opcode == 1 and not self.opened.done():
                self.opened.set_result(True)  # the snapshot: from here on every event counts
            elif opcode == 1:
                texts.append(payload)
                self.on_text(payload, self.at)
            elif opcode == 9 and self.transport is not None:  # ping: a masked pong (zero mask) with its payload
                whole = False
                self.transport.write(bytes((0x8A, 0x80 | len(payload))) + bytes(4) + payload)
            else:
                whole = False
        if whole and at == size and texts and len(self.chunks) < 100_000:
            self.chunks[data] = texts
        del buffer[:at]


def _seconds(timeval: bytes) -> float:
    seconds, microseconds = TIMEVAL.unpack(timeval[: TIMEVAL.size])
    return seconds + microseconds / 1e6


def _listen(sockets: list[Watch], ready: Any, opened: int, stop: Any) -> None:
    """Read every socket as a browser on another machine would see it: a frame counts as delivered when its bytes
    reached this host (the kernel's receive timestamp, SO_TIMESTAMP), not when this process got round to it. The
    sockets are polled every LISTEN_EVERY seconds instead of each waking the process: a co-located client that is
    woken for every write takes CPU from the servers it measures, which a remote browser does not. For TCP the stamp
    is that of the last segment read, so frames that waited in the socket behind a later segment count late (the
    error is on the pessimistic side)."""
    poller, owners = select.epoll(), {}
    for watch in sockets:
        if watch.transport is None or watch.transport.is_closing():
            continue
        watch.transport.pause_reading()  # the event loop no longer reads it: this poller does
        raw = socket.socket(fileno=os.dup(watch.transport.get_extra_info("socket").fileno()))
        raw.setblocking(False)
        raw.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        owners[raw.fileno()] = (raw, watch)
        poller.register(raw.fileno(), select.EPOLLIN)
    ready.put(opened)
    space = socket.CMSG_SPACE(TIMEVAL.size)
    while not stop.is_set():
        time.sleep(LISTEN_EVERY)
        for fd, _mask in poller.poll(0):
            raw, watch = owners[fd]
            try:
                data, ancillary, _flags, _address = raw.recvmsg(1 << 16, space)
            except BlockingIOError:
                continue
            except ConnectionError:
                data = b""
            if not data:  # closed by the server: nothing more to read
                poller.unregister(fd)
                continue
            watch.at = next((_seconds(c) for _l, kind, c in ancillary if kind == SO_TIMESTAMP), time.time())
            watch.data_received(data)
    for raw, _watch in owners.values():
        raw.close()


def _watchers(targets: list[tuple[int, str]], ready: Any, stop: Any, results: Any) -> None:
    """One client process: open its share of sockets, report ready, then time every bid event until told to stop."""
    import uvloop

    async def main() -> None:
        latencies: list[float] = []
        sent_at: dict[bytes, float | None] = {}  # frame -> when its bid was placed (epoch s), None if not a bid

        def received(frame: bytes, at: float) -> None:
            """Every watcher of this process gets the same frames: each is parsed once, not once per socket."""
            if frame not in sent_at:
                event = json.loads(frame)
                when = event.get("placed_at") if event.get("type") == "bid" else None
                sent_at[frame] = datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp() if when else None
            if (when := sent_at[frame]) is not None:
                latencies.append((at - when) * 1000)

        loop = asyncio.get_running_loop()
        sockets: list[Watch] = []
        chunks: dict[bytes, list[bytes]] = {}
        for start in range(0, len(targets), 100):
            batch = [
                loop.create_connection(
                    functools.partial(Watch, f"127.0.0.1:{port}", path, received, chunks), "127.0.0.1", port
                )
                for port, path in targets[start : start + 100]
            ]
            for outcome in await asyncio.gather(*batch, return_exceptions=True):
                if not isinstance(outcome, BaseException):
                    sockets.append(outcome[1])
        opened = sum(await asyncio.gather(*(watcher.opened for watcher in sockets)))
        _listen(sockets, ready, opened, stop)  # blocks the event loop, which has nothing left to do
        results.put(latencies)
        for watcher in sockets:
            if watcher.transport is not None:
                watcher.transport.close()

    uvloop.run(main())


def publish(system: str, auction: Any, bidders: list[Any], rate: int, seconds: int) -> int:
    """`rate` bids per second for `seconds`: through bid_place for ours, as group_send for the baseline."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from auctions import services
    from auctions.selectors import iso

    layer = get_channel_layer()
    amount, sent = 1000, 0
    start = time.monotonic()
    for i in range(rate * seconds):
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
        amount += 10
        if system == "ours":
            services.bid_place(user=bidders[i % 2], auction_id=auction.pk, amount=f"{amount}.00")
        else:
            event = {"type": "bid", "seq": i + 1, "amount": f"{amount}.00", "placed_at": iso(datetime.now(UTC))}
            async_to_sync(layer.group_send)(f"auction-{auction.pk}", {"type": "auction.event", "event": event})
        sent += 1
    return sent


def measure(system: str, watchers: int, args: argparse.Namespace) -> dict[str, float]:
    from django.db import connections

    from auctions import services

    auction, bidders, _ = world(2)
    services.auction_open(auction_id=auction.pk)
    connections.close_all()
    context = multiprocessing.get_context("spawn")
    with servers(APPS[system]) as running:
        rss_before = sum(rss_kib(pid) for pid, _ in running)
        targets = [(running[i % 2][1], f"/ws/auctions/{auction.pk}/") for i in range(watchers)]
        ready, stop, results = context.Queue(), context.Event(), context.Queue()
        share = [targets[i :: args.clients] for i in range(args.clients)]
        clients = [context.Process(target=_watchers, args=(s, ready, stop, results)) for s in share]
        for client in clients:
            client.start()
        connected = sum(ready.get(timeout=300) for _ in clients)
        time.sleep(2)
        rss_per_watcher = (sum(rss_kib(pid) for pid, _ in running) - rss_before) / max(connected, 1)
        server_cpu, client_cpu = cpu_seconds(pid for pid, _ in running), cpu_seconds(c.pid for c in clients)
        started = time.monotonic()
        sent = publish(system, auction, bidders, args.rate, args.seconds)
        rate = sent / (time.monotonic() - started)
        time.sleep(3)  # the last frames' way out
        stop.set()
        latencies = sorted(x for _ in clients for x in results.get(timeout=120))
        server_cpu = cpu_seconds(pid for pid, _ in running) - server_cpu
        client_cpu = cpu_seconds(c.pid for c in clients) - client_cpu
        for client in clients:
            client.join(30)
    expected = sent * connected
    return {
        "connected": connected,
        "rate": rate,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "delivered": len(latencies) / expected if expected else 0.0,
        "KiB/watcher": rss_per_watcher,
        "server µs": server_cpu / max(len(latencies), 1) * 1e6,
        "client µs": client_cpu / max(len(latencies), 1) * 1e6,
    }


def cpu_seconds(pids: Any) -> float:
    """User + system CPU time of the processes so far."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watchers", type=int, nargs="+", default=[1000, 5000, 10_000])
    parser.add_argument("--rate", type=int, default=20, help="bids per second")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4, help="client processes holding the watchers")
    parser.add_argument("--systems", nargs="+", choices=list(APPS), default=list(APPS), help="for a quick look")
    args = parser.parse_args()
    django_setup(bench_database_url())
    rows = []
    for watchers in args.watchers:
        for system in args.systems:
            log(f"{system}: {watchers} watchers, {args.rate} bids/s for {args.seconds} s")
            rows.append((watchers, system, measure(system, watchers, args)))
    print(f"\nBid -> every watcher, two server processes, {args.rate} bids/s (ms; delivered = share of frames):")
    header = f"{'watchers':>8}  {'system':<20} {'p50':>8} {'p99':>8} {'delivered':>9} {'KiB/watcher':>11}"
    print(f"{header} {'bids/s':>6} {'server CPU µs/frame':>19} {'clients':>7}")
    for watchers, system, row in rows:
        print(
            f"{watchers:>8}  {system:<20} {row['p50']:>8.0f} {row['p99']:>8.0f} {row['delivered']:>9.1%} "
            f"{row['KiB/watcher']:>11.1f} {row['rate']:>6.1f} {row['server µs']:>19.1f} {row['client µs']:>7.1f}"
        )
    for watchers in args.watchers if len(args.systems) == len(APPS) else ():
        ours = next(row for w, system, row in rows if w == watchers and system == "ours")
        baseline = next(row for w, system, row in rows if w == watchers and system != "ours")
        print(f"{watchers:>8}  p99 baseline / ours: {baseline['p99'] / ours['p99']:.1f}x")


if __name__ == "__main__":
    main()
