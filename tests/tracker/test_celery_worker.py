"""A real Celery worker process takes a task from Redis and answers it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_answers():
    import redis

    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def redis_worker(tmp_path):
    if not redis_answers():
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "-Q",
            "plan-tracker-test",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


@pytest.mark.redis
def test_a_real_worker_runs_a_task_through_redis(redis_worker, monkeypatch):
    # Celery lets CELERY_BROKER_URL in the environment override the broker given to the app.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    client = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)  # the tests' own app stays current
    started = time.monotonic()
    result = client.send_task("tracker.tasks.ping", queue="plan-tracker-test")
    assert result.get(timeout=60) == "pong"
    assert time.monotonic() - started < 60
    assert redis_worker.poll() is None, "the worker died"


def test_a_real_worker_on_the_embedded_filesystem_broker(tmp_path, monkeypatch):
    """What `make run` uses: no server at all, the queue is a folder under var/."""
    env = {**os.environ, "DJANGO_DEBUG": "1", "PLAN_TRACKER_VAR_DIR": str(tmp_path)}
    env.pop("CELERY_BROKER_URL", None)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "-n",
            f"fs-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        queue = tmp_path / "celery"
        monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
        client = Celery(broker="filesystem://", set_as_current=False)  # the tests' own app stays current
        client.conf.broker_transport_options = {
            "data_folder_in": str(queue / "in"),
            "data_folder_out": str(queue / "in"),
            "processed_folder": str(queue / "processed"),
            "control_folder": str(queue / "control"),
            "store_processed": False,
        }
        deadline = time.monotonic() + 30
        while not (queue / "in").is_dir() and time.monotonic() < deadline:
            time.sleep(0.2)
        client.send_task("tracker.tasks.ping")
        # No result backend on the embedded broker: the worker consuming the message is the proof.
        while any((queue / "in").iterdir()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any((queue / "in").iterdir()), "the worker did not take the task"
        assert worker.poll() is None, "the worker died"
    finally:
        worker.terminate()
        output = worker.communicate(timeout=20)[0]
    assert "Traceback" not in output, output
