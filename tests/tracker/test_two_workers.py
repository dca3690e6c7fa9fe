"""gunicorn with two workers, as production runs it: what one process counts, every process sees.

- Metrics (PROMETHEUS_MULTIPROC_DIR): a scrape answered by either worker counts the requests both served.
- Password-reset limits: 10 an hour per client and 3 per address across both workers (they lived in each
  process's memory, and two workers accepted 20 of 25 requests from one client).

Each test checks, from the workers' own metric files, that both workers served requests: otherwise it
would prove nothing about two processes.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.messaging.test_reminders_worker import shared_database_url  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "two-workers-token-0123456789abcdef"


def free_port():
    """A free port on loopback: from TEST_SERVER_PORTS ("18900-18999") when set, else any."""
    low, _, high = os.environ.get("TEST_SERVER_PORTS", "0-0").partition("-")
    for port in range(int(low), int(high) + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port in TEST_SERVER_PORTS")


class Server:
    def __init__(self, url, metrics_dir, log):
        self.url, self.metrics_dir, self.log = url, metrics_dir, log

    def open(self, path, data=None, opener=None, headers=None):
        request = urllib.request.Request(self.url + path, data=data, headers=headers or {})
        try:
            with (opener or urllib.request.build_opener()).open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def scrape(self):
        status, text = self.open("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        return {family.name: family for family in text_string_to_metric_families(text)}

    def processes_that_counted(self, view, status):
        """How many processes' files count responses of `view` with `status` (each worker writes its own)."""
        found = 0
        for path in self.metrics_dir.glob("counter_*.db"):
            for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
                _metric, name, labels, _help = json.loads(key)
                if (
                    name == "django_http_responses_total_by_status_view_method_total"
                    and labels.get("view") == view
                    and labels.get("status") == str(status)
                    and value > 0
                ):
                    found += 1
                    break
        return found


def responses(families, view, status):
    name = "django_http_responses_total_by_status_view_method"
    return sum(
        sample.value
        for sample in (families[name].samples if name in families else [])
        if sample.name == f"{name}_total" and sample.labels["view"] == view and sample.labels["status"] == str(status)
    )


@pytest.fixture
def gunicorn(shared_database_url, tmp_path):  # noqa: F811
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": shared_database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
        "LOG_LEVEL": "INFO",
        "FRAGMENT_RENDER_IN_THREAD": "0",
    }
    env.pop("CACHE_URL", None)  # each process's own memory: the limits must hold without a shared cache
    env.pop("CELERY_BROKER_URL", None)
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "tracker.wsgi:application",
                "--config",
                "python:tracker.gunicorn_config",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", metrics_dir, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if server.open("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, f"gunicorn did not start:\n{log.read_text()}"
            time.sleep(0.3)
        # Both workers up (each wrote its metric files when it loaded the app).
        while len({p.name.split("_", 1)[1] for p in metrics_dir.glob("counter_*.db")}) < 2:
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_scrape_from_either_worker_counts_the_requests_of_both(transactional_db, gunicorn):
    before = responses(gunicorn.scrape(), "login", 200)
    sent = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        while sent < 400:
            statuses = list(pool.map(lambda _: gunicorn.open("/accounts/login/")[0], range(20)))
            assert statuses == [200] * 20
            sent += 20
            if gunicorn.processes_that_counted("login", 200) == 2:
                break
    assert gunicorn.processes_that_counted("login", 200) == 2, "one worker served every request"
    # Every scrape, whichever worker answers it, has them all.
    for _ in range(6):
        assert responses(gunicorn.scrape(), "login", 200) - before == sent
    families = gunicorn.scrape()
    assert families["plan_tracker_db_queries"].samples
    assert "plan_tracker_outbox_emails" in families


def test_password_reset_limits_hold_across_both_workers(transactional_db, gunicorn):
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    status, form = gunicorn.open("/accounts/password-reset/", opener=opener)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)

    def ask(email):
        body = urlencode({"csrfmiddlewaretoken": token, "email": email}).encode()
        return gunicorn.open("/accounts/password-reset/", data=body, opener=opener)[0]

    # The redirect to "check your email" is followed: its page answers 200; a refusal is 429.
    with ThreadPoolExecutor(max_workers=3) as pool:
        one_address = list(pool.map(ask, ["target@example.org"] * 6))
        others = list(pool.map(ask, [f"someone{n}@example.org" for n in range(19)]))
    assert one_address == [200] * 6  # the address limit answers the same, and sends nothing
    assert sorted(others) == [200] * 4 + [429] * 15  # 10 in all from this client
    assert gunicorn.processes_that_counted("password-reset", 302) == 2, "one worker served every request"
    log = gunicorn.log.read_text()
    assert log.count("password reset requested: email=target@example.org") == 3
    assert log.count("too many for this address): email=target@example.org") == 3
    # 3 sent for the one address, 4 for the others: 10 accepted in all, 3 of them not sent.
    assert log.count("password reset requested: email=") == 7


def test_a_celery_worker_s_pool_counts_its_tasks_in_the_shared_folder(tmp_path, monkeypatch):
    """A prefork worker (two pool processes) on the embedded broker, sharing the folder as docker-compose does."""
    # Celery's settings prefer CELERY_BROKER_URL from the environment to the app's own broker (CI's PostgreSQL
    # run sets it to Redis): without this the publisher below would send to Redis, where this worker is not.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    from celery import Celery
    from prometheus_client import CollectorRegistry, generate_latest, multiprocess

    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    env.pop("CELERY_BROKER_URL", None)
    log = tmp_path / "worker.log"
    with open(log, "w") as output:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tracker",
                "worker",
                "--concurrency=2",
                "--loglevel=INFO",
                "-n",
                f"metrics-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        queue = tmp_path / "celery"
        publisher = Celery(broker="filesystem://", set_as_current=False)  # the tests' own app stays current
        publisher.conf.broker_transport_options = {
            "data_folder_in": str(queue / "in"),
            "data_folder_out": str(queue / "in"),
            "processed_folder": str(queue / "processed"),
            "control_folder": str(queue / "control"),
            "store_processed": False,
        }
        deadline = time.monotonic() + 90
        while not (queue / "in").is_dir() and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(4):
            publisher.send_task("tracker.tasks.ping")

        def counted():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))
            for family in text_string_to_metric_families(generate_latest(registry).decode()):
                for sample in family.samples:
                    if sample.name == "plan_tracker_celery_tasks_total" and sample.labels == {
                        "task": "tracker.tasks.ping",
                        "result": "success",
                    }:
                        return sample.value
            return 0

        while counted() < 4 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert counted() == 4, log.read_text()[-3000:]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
