"""/healthz reports each dependency truthfully, with a real Celery worker."""

import time

import pytest

from tests import processes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client(client, make_user):
    client.force_login(make_user("ops@example.com", is_staff=True))
    return client


def test_healthz_tells_everyone_what_is_up_but_only_staff_the_details(client):
    body = client.get("/healthz").json()
    assert set(body) == {"status", "database", "redis", "celery"}
    assert body["database"]["ok"] is True and set(body["database"]) == {"ok", "ms"}
    assert set(body["celery"]) == {"ok", "ms"}  # no error text, hostnames or versions for the public


def test_healthz_is_503_without_a_worker_and_names_the_cause(staff_client):
    client = staff_client
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] and "PostgreSQL" in body["database"]["version"]
    assert body["redis"]["ok"]
    assert body["celery"] == {
        "ok": False,
        "error": "RuntimeError: no Celery worker answered within 1.5 s",
        "ms": body["celery"]["ms"],
    }


def test_healthz_is_200_when_a_worker_answers(staff_client):
    client = staff_client
    with processes.celery_worker():
        deadline = time.monotonic() + 30
        while (response := client.get("/healthz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["celery"]["workers"][0].startswith("test-")


def test_healthz_reports_redis_down(staff_client, settings):
    client = staff_client
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    body = client.get("/healthz").json()
    assert body["redis"]["ok"] is False and "ConnectionError" in body["redis"]["error"]
