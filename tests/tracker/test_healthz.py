"""/healthz checks the database, the cache and the broker, and names what is down (and nothing more)."""

import os
from unittest import mock

import pytest
from django.test import Client

REDIS_URL = os.environ.get("HEALTHZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def redis_cache(settings, url):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}


def test_a_cache_that_does_not_answer_is_named(db, settings, caplog):
    redis_cache(settings, "redis://127.0.0.1:1/0")  # nothing listens there
    with mock.patch("tracker.health._broker_ok", return_value=True):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "down", "broker": "ok"}
    assert "Health check: the cache did not answer" in caplog.text
    assert "Connection" not in response.content.decode()  # the error stays in the log


def test_a_broker_that_does_not_answer_is_named(db, settings):
    from kombu import Connection

    from tracker.celery import app

    unreachable = lambda: Connection("redis://127.0.0.1:1/0", connect_timeout=1)  # noqa: E731
    with mock.patch.object(app, "connection_for_write", unreachable):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


@pytest.mark.redis
def test_a_redis_cache_that_answers_is_ok(db, settings):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    redis_cache(settings, REDIS_URL)
    with mock.patch("tracker.health._broker_ok", return_value=True):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok", "broker": "ok"}
