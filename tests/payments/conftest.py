"""Payments tests talk to a real localstripe through the official SDK: the one `make test` started, or our own."""

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import stripe
from django.test import Client
from django.utils import timezone

from auctions import services as auction_services
from auctions.models import Auction
from payments import services, stripe_client
from scripts.services import _localstripe

STRIPE_KEYS = ("STRIPE_API_BASE", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")


_started = contextlib.ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    """Start our own localstripe at collection (unless `make test` started one), before any live server is started,
    so servers and workers started by tests inherit the STRIPE_* settings."""
    if os.environ.get("STRIPE_API_BASE", "").startswith("http://127.0.0.1:"):
        return
    state = Path(tempfile.mkdtemp(prefix="localstripe-"))
    _started.callback(shutil.rmtree, state, ignore_errors=True)
    os.environ.update(_localstripe(_started, state, fresh=True))


def pytest_unconfigure(config: pytest.Config) -> None:
    _started.close()


@pytest.fixture(scope="session")
def stripe_env() -> dict[str, str]:
    """STRIPE_* settings of the running localstripe."""
    return {key: os.environ[key] for key in STRIPE_KEYS}


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


def close_now(auction, capture):
    now = timezone.now()
    Auction.objects.filter(pk=auction.pk).update(closes_at=now, ends_at=now)
    with capture(execute=True):
        assert auction_services.auction_close(auction_id=auction.pk)


@pytest.fixture
def sold(market, django_capture_on_commit_callbacks):
    """Three buyers hold deposits on Stripe; bob wins at 12,000."""
    auction = market.auction(starting_price="10000.00", deposit_amount="1000.00")
    buyers = [market.buyer(name) for name in ("alice", "bob", "carol")]
    deposits = [services.deposit_hold(user=b, auction_id=auction.pk, payment_method="pm_card_visa") for b in buyers]
    assert {d.status for d in deposits} == {"held"}
    auction_services.bid_place(user=buyers[0], auction_id=auction.pk, amount="10000.00")
    auction_services.bid_place(user=buyers[1], auction_id=auction.pk, amount="12000.00")
    return auction, buyers, deposits
