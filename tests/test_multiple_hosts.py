"""Two gunicorn instances, as two hosts would run them, on one PostgreSQL and one Redis cache (CACHE_URL).

A write through one instance is on the writer's very next page through the other, and on anyone's
page there once one render has run (tracker/caching.py). Needs PostgreSQL on 127.0.0.1:5432 and Redis
on 127.0.0.1:6379 (database 11, or TEST_CACHE_REDIS_URL); skipped without them (failed under CI).
"""

import os
import re
import secrets
import time
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("TEST_CACHE_REDIS_URL", "redis://127.0.0.1:6379/11")


def _skip(reason):
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def shared_services(monkeypatch, tmp_path):
    """A throwaway PostgreSQL database and a Redis database, named for both instances in the environment."""
    import psycopg2
    import redis

    from bench import harness

    try:
        psycopg2.connect(dbname="postgres", connect_timeout=2, **harness.PG).close()
    except psycopg2.OperationalError:
        _skip("PostgreSQL does not answer on 127.0.0.1:5432")
    try:
        cache = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
        cache.ping()
    except redis.exceptions.ConnectionError:
        _skip(f"Redis does not answer at {REDIS_URL}")
    cache.flushdb()
    monkeypatch.setenv("CACHE_URL", REDIS_URL)
    monkeypatch.setenv("CELERY_BROKER_URL", REDIS_URL)  # one broker for both hosts (nothing consumes it here)
    # TEST_HOSTS_DATABASE: a name of one's own on a shared PostgreSQL (dropped afterwards).
    name = os.environ.get("TEST_HOSTS_DATABASE") or f"plantracker_test_hosts_{secrets.token_hex(4)}"
    try:
        harness.prepare(name, actions=40, updates=80, organisations=4, users=400, plans=1)  # 2 secretariat
        yield name
    finally:
        harness.drop_database(name)
        cache.flushdb()


def _register_count(server, cookie, status):
    from bench.harness import request

    code, html, _, _ = request(server.port, f"/actions/?status={status}", cookie=cookie)
    assert code == 200
    return int(re.search(r'role="status">(\d+) action', html).group(1))


def _record_update(server, cookie, pk, status):
    from bench.harness import request

    code, html, _, headers = request(server.port, f"/actions/{pk}/", cookie=cookie)
    assert code == 200
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    csrf = next(
        re.match(r"csrftoken=([^;]+)", value).group(1)
        for value in headers.get_all("Set-Cookie")
        if value.startswith("csrftoken=")
    )
    body = urlencode({"csrfmiddlewaretoken": token, "status": status, "note": "Through host A", "version": version})
    code, _, _, _ = request(
        server.port,
        f"/actions/{pk}/updates/",
        cookie=f"{cookie}; csrftoken={csrf}",
        method="POST",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert code == 302


def test_a_write_through_one_host_is_on_the_other_hosts_next_page(shared_services, tmp_path):
    from bench import harness

    db = shared_services
    facts = harness.inproc(db, "facts")
    writer, reader = harness.inproc(db, "staff")
    cookies = harness.sessions(db, [writer, reader, facts["commissioner"]])
    pk = facts["action"]
    current = harness.inproc(db, "action_state", pks=[pk])[str(pk)][1]
    status = "off_track" if current != "off_track" else "on_track"
    with (
        harness.gunicorn(db, workers=1, log=tmp_path / "host-a.log") as host_a,
        harness.gunicorn(db, workers=1, log=tmp_path / "host-b.log") as host_b,
    ):
        # Both hosts have the register cached (in the one Redis) before the change.
        before = {}
        for who in (writer, reader):
            before[who] = _register_count(host_b, cookies[who], status)
            assert _register_count(host_a, cookies[who], status) == before[who]
        _record_update(host_a, cookies[writer], pk, status)
        # The writer's very next page, served by the other host, shows the change.
        assert _register_count(host_b, cookies[writer], status) == before[writer] + 1
        # Someone else there sees it too: at once (the writer's page stored it) ...
        assert _register_count(host_b, cookies[reader], status) == before[reader] + 1
        # ... and on a page not yet rendered since the change, after at most one render.
        commissioner = cookies[facts["commissioner"]]
        first = _register_count(host_b, commissioner, status)
        assert _register_count(host_b, commissioner, status) == first  # cached, as before
        _record_update(host_a, cookies[writer], pk, "at_risk")
        # (The render runs in a thread after the response: ask again until it is stored, for at most 30 s.)
        deadline = time.monotonic() + 30
        while (count := _register_count(host_b, commissioner, status)) != first - 1 and time.monotonic() < deadline:
            assert count == first  # the previous fragment meanwhile, never anything else
            time.sleep(0.1)
        assert count == first - 1
