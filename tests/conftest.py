"""Fixtures shared by the whole suite: a clean Redis, real servers, a mailbox, factories."""

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from accounts.models import Membership, Organization, RiskWarning, User
from tests import processes
from tests.factories import Market

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(autouse=True)
def _clean_redis() -> None:
    """Every test starts with an empty Redis database of its own (cache, throttles, channel layer)."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="session")
def live_server_url(django_db_setup: None, django_db_blocker: Any, mail_dir: Path) -> Iterator[str]:
    """A real uvicorn process and Celery worker on the test database; e-mails land in `mail_dir`.

    The worker lives for the rest of the session, so tests that need *no* worker run before the first user of
    this fixture (they sort earlier: tests/marketplace/test_health.py).
    """
    mail = {"EMAIL_URL": "filemail://", "EMAIL_FILE_PATH": str(mail_dir)}
    with django_db_blocker.unblock(), processes.asgi_server(**mail) as url, processes.celery_worker(**mail):
        yield url


class Mailbox:
    """E-mails the live server wrote with Django's file backend."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen = {path.name for path in directory.iterdir()}

    def new_messages(self) -> list[str]:
        paths = sorted((p for p in self.directory.iterdir() if p.name not in self.seen), key=os.path.getmtime)
        return [path.read_text() for path in paths]

    def link(self, recipient: str, pattern: str = r"http://\S+", timeout: float = 15) -> str:
        """The last link in the newest e-mail to `recipient`, waiting for the worker to send it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.new_messages()):
                if f"To: {recipient}" in message:
                    return re.findall(pattern, message)[-1]
            time.sleep(0.1)
        raise AssertionError(f"no e-mail to {recipient} within {timeout} s")


@pytest.fixture
def mailbox(mail_dir: Path) -> Mailbox:
    return Mailbox(mail_dir)


@pytest.fixture
def make_user(db: None) -> Any:
    def make(
        email: str = "buyer@example.com",
        password: str = "correct-horse-battery",
        *,
        verified: bool = True,
        **fields: Any,
    ) -> User:
        return User.objects.create_user(
            email=email, password=password, email_verified_at=timezone.now() if verified else None, **fields
        )

    return make


@pytest.fixture
def seller_org(db: None) -> Organization:
    return Organization.objects.create(name="Jade River AMC", kind=Organization.Kind.ASSET_MANAGEMENT_COMPANY)


@pytest.fixture
def member(make_user: Any, seller_org: Organization) -> User:
    user = make_user("trader@jade.example.com")
    Membership.objects.create(user=user, organization=seller_org, role=Membership.Role.TRADER)
    return user


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Quick tests first; then those that share the session's live server and worker (tests that need *no* worker
    must run before it starts); browser tests, marked `e2e`, last."""
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: ("/e2e/" in str(item.path), "live_server_url" in getattr(item, "fixturenames", ())))


@pytest.fixture
def risk_warning(db: None) -> RiskWarning:
    """The warning migration 0004 publishes; transactional tests flush it away, so tests that need it ask for it."""
    text = (Path(settings.BASE_DIR) / "accounts" / "data" / "risk_warning.txt").read_text(encoding="utf-8")
    warning, _created = RiskWarning.objects.get_or_create(version="2026-11", defaults={"body": text})
    return warning


@pytest.fixture
def market(make_user: Any, risk_warning: RiskWarning) -> Market:
    """A seller with a trader, and factories for portfolios, auctions and buyers in any state."""
    return Market(make_user, risk_warning)
