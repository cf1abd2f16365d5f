"""`make run`'s launcher on embedded services: the site answers, a WebSocket survives 70 s idle, Ctrl-C stops all."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest
import websockets
from websockets.typing import Origin

from tests import aio
from tests.processes import ROOT, free_port, wait_for_port
from tests.web import csrf_post

pytestmark = pytest.mark.slow

IDLE_SECONDS = 70


async def idle_websocket(url: str) -> tuple[dict[str, object], dict[str, object]]:
    async with websockets.connect(
        url.replace("http://", "ws://") + "/ws/ping/", origin=Origin(url), ping_interval=None
    ) as ws:
        await ws.send(json.dumps({"type": "ping", "data": "before"}))
        before = json.loads(await asyncio.wait_for(ws.recv(), 5))
        await asyncio.sleep(IDLE_SECONDS)  # no traffic at all, not even protocol pings
        await ws.send(json.dumps({"type": "ping", "data": "after"}))
        after = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return before, after


def test_run_command_serves_the_site_on_embedded_services(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    process = subprocess.Popen(
        [sys.executable, "scripts/run.py", "--port", str(port), "--state-dir", str(tmp_path / "state")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, process, timeout=180)
        deadline = time.monotonic() + 60
        while (health := httpx.get(url + "/healthz", timeout=10)).status_code != 200 and time.monotonic() < deadline:
            time.sleep(1)
        assert health.status_code == 200, health.text
        for path in ["/", "/admin/login/", "/api/schema/", "/api/docs/"]:
            assert httpx.get(url + path, timeout=10).status_code == 200, path
        with httpx.Client(base_url=url, follow_redirects=True, timeout=10) as admin:  # the printed demo login works
            page = csrf_post(admin, "/accounts/login/", {"username": "admin@example.com", "password": "demo-pass-2026"})
            assert page.url.path == "/accounts/profile/"
            details = admin.get("/healthz").json()
        assert "PostgreSQL 18" in details["database"]["version"]  # the embedded server, not the machine's 15

        before, after = aio.run(idle_websocket(url))
        assert (before["type"], before["echo"]) == ("pong", "before")
        assert (after["type"], after["echo"]) == ("pong", "after")

        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) >= 3  # web, worker, beat (and the services it started)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output[-3000:]
    assert "Demo logins" in output and url in output
    assert not [child for child in children if child.is_running() and child.status() != psutil.STATUS_ZOMBIE]
    assert not (tmp_path / "state" / "pg" / "postmaster.pid").exists()
