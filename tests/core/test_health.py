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
    response = client.get("/readyz")

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


def test_readyz_with_redis_down_names_the_component(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")

    components = response.json()["components"]
    assert response.status_code == 503
    assert components["redis"]["ok"] is False
    assert "ConnectionError" in components["redis"]["detail"]
    assert components["celery"]["detail"] == "skipped: Redis (the broker) is down"
    assert components["postgres"]["ok"] is True
