"""The run and test commands bring their own Stripe: without a key, scripts/services.py starts localstripe, exports
its settings, registers the site's webhook, and stops it on exit; with a key it starts nothing."""

import json
import socket
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from scripts import services

DB_AND_REDIS = {"DATABASE_URL": "postgres://unused@127.0.0.1:1/x", "REDIS_URL": "redis://127.0.0.1:1/0"}


def listening(base: str) -> bool:
    host, port = base.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_without_a_key_localstripe_runs_for_the_commands_lifetime(tmp_path, monkeypatch):
    for key, value in DB_AND_REDIS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    received: list[tuple[str, bytes]] = []

    class Site(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    Thread(target=site.serve_forever, daemon=True).start()
    try:
        with services.services(state_dir=tmp_path, prefer_local=False, fresh_stripe=True) as env:
            base = env["STRIPE_API_BASE"]
            assert env["STRIPE_SECRET_KEY"].startswith("sk_test_") and env["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")
            assert env["STRIPE_PUBLISHABLE_KEY"].startswith("pk_test_")
            services.localstripe_webhook(env, f"http://127.0.0.1:{site.server_address[1]}")
            form = b"amount=100&currency=usd&payment_method=pm_card_visa&confirm=true"
            request = urllib.request.Request(
                f"{base}/v1/payment_intents", data=form, headers={"Authorization": "Bearer sk_test_x"}
            )
            with urllib.request.urlopen(request) as response:
                assert json.load(response)["status"] == "succeeded"
            deadline = time.monotonic() + 10
            while not received and time.monotonic() < deadline:
                time.sleep(0.1)
            path, body = received[0]
            assert (path, json.loads(body)["type"]) == ("/stripe/webhook/", "payment_intent.succeeded")
        assert not listening(base)  # stopped with the command
        assert not (tmp_path / "localstripe.pickle").exists()  # a fresh one keeps nothing on disk
    finally:
        site.shutdown()
        site.server_close()


def test_with_a_key_nothing_is_started(tmp_path, monkeypatch):
    for key, value in DB_AND_REDIS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_configured")
    with services.services(state_dir=tmp_path, prefer_local=False) as env:
        assert "STRIPE_API_BASE" not in env
