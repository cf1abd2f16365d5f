"""Payments tests talk to a real localstripe through the official SDK: the one `make test` started, or our own."""

import contextlib
import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.test import Client

from payments import stripe_client
from scripts.services import _localstripe

STRIPE_KEYS = ("STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")


@pytest.fixture(scope="session")
def stripe_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """STRIPE_* settings of a running localstripe; also put in os.environ so live servers started later inherit it."""
    if os.environ.get("STRIPE_API_BASE", "").startswith("http://127.0.0.1:"):
        yield {key: os.environ[key] for key in STRIPE_KEYS}
        return
    with contextlib.ExitStack() as stack:
        env = _localstripe(stack, Path(tmp_path_factory.mktemp("localstripe")), fresh=True)
        saved = {key: os.environ.get(key) for key in STRIPE_KEYS}
        os.environ.update(env)
        try:
            yield env
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@pytest.fixture(autouse=True)
def _stripe_settings(stripe_env: dict[str, str], settings: Any) -> None:
    for key, value in stripe_env.items():
        setattr(settings, key, value)


@pytest.fixture
def stripe_api(_stripe_settings: None) -> stripe.StripeClient:
    """The same SDK client the code uses, to look at Stripe's side of things."""
    return stripe_client.client()


def signed(payload: bytes, secret: str, at: int | None = None) -> str:
    """A Stripe-Signature header for `payload`, as Stripe (and localstripe) sign webhook deliveries."""
    at = int(time.time()) if at is None else at
    signature = hmac.new(secret.encode(), b"%d.%s" % (at, payload), hashlib.sha256).hexdigest()
    return f"t={at},v1={signature}"


@pytest.fixture
def deliver(stripe_env: dict[str, str], client: Client) -> Any:
    """Post an event to /stripe/webhook/ signed with the webhook secret (or `secret`)."""

    def post(event: dict[str, Any], secret: str | None = None) -> Any:
        payload = json.dumps(event).encode()
        header = signed(payload, secret or stripe_env["STRIPE_WEBHOOK_SECRET"])
        return client.post(
            "/stripe/webhook/", data=payload, content_type="application/json", headers={"Stripe-Signature": header}
        )

    return post
