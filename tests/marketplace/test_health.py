"""/healthz reports each dependency truthfully, with a real Celery worker."""

import time

import pytest

from tests import processes

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_is_503_without_a_worker_and_names_the_cause(client):
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


def test_healthz_is_200_when_a_worker_answers(client):
    with processes.celery_worker():
        deadline = time.monotonic() + 30
        while (response := client.get("/healthz")).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["celery"]["workers"][0].startswith("test-")


def test_healthz_reports_redis_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    body = client.get("/healthz").json()
    assert body["redis"]["ok"] is False and "ConnectionError" in body["redis"]["error"]
