import time

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_dependencies(client):
    # given a Redis URL that points nowhere
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        # when
        response = client.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_postgres_pgvector_and_redis_up_and_no_worker(client):
    # given: no Celery worker and no turn worker running
    # when
    response = client.get("/readyz")
    # then

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    assert body["components"]["postgres"]["ok"] is True
    assert body["components"]["postgres"]["detail"].startswith("PostgreSQL 18")
    assert body["components"]["pgvector"]["ok"] is True
    assert body["components"]["redis"]["ok"] is True
    assert body["components"]["celery"] == {
        "ok": False,
        "detail": "RuntimeError: no Celery worker answered",
        "latency_ms": body["components"]["celery"]["latency_ms"],
    }
    assert body["components"]["turn_workers"]["ok"] is False
    assert body["components"]["turn_workers"]["detail"] == "RuntimeError: no turn worker alive in the last 10 s"


@pytest.mark.django_db(transaction=True)
def test_readyz_sees_a_turn_worker_reading_the_stream(client):
    # given: a turn worker serving the stream
    from apps.agents.turn_queue import live_workers
    from tests.workers import turn_worker_thread

    with turn_worker_thread(threads=1):
        deadline = time.monotonic() + 30
        while not live_workers(within_seconds=10):
            assert time.monotonic() < deadline, "the worker never said it was alive"
            time.sleep(0.05)
        # when
        response = client.get("/readyz")
    # then: counted while it runs, not once it has stopped
    component = response.json()["components"]["turn_workers"]
    assert (component["ok"], component["detail"]) == (True, "1 turn worker(s) alive")
    assert live_workers(within_seconds=10) == 0


def test_readyz_with_redis_down_names_the_component(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")

    components = response.json()["components"]
    assert response.status_code == 503
    assert components["redis"]["ok"] is False
    assert "ConnectionError" in components["redis"]["detail"]
    assert components["celery"]["detail"] == "skipped: Redis (the broker) is down"
    assert components["turn_workers"]["detail"] == "skipped: Redis (the broker) is down"
    assert components["postgres"]["ok"] is True
