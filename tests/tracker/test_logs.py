"""Log lines: a request id on each (also in the Celery tasks a request starts), one line per record, JSON on demand."""

import io
import json
import logging
import logging.config
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from celery import Celery
from django.test import Client
from django.urls import reverse

from tests.factories import SecretariatFactory
from tracker.logs import JsonFormatter, OneLineFormatter, RequestIdFilter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def log_lines(settings):
    """The project's LOGGING, writing to a buffer: returns a function giving the lines written so far."""
    logging.config.dictConfig(settings.LOGGING)
    handlers = {logging.getLogger().handlers[0], logging.getLogger("django.request").handlers[0]}
    stream = io.StringIO()
    previous = [handler.setStream(stream) for handler in handlers]
    yield lambda: stream.getvalue().splitlines()
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)


def test_a_valid_request_id_is_kept_and_returned(db):
    response = Client().get(reverse("login"), HTTP_X_REQUEST_ID="edge-7f3a.42")
    assert response["X-Request-ID"] == "edge-7f3a.42"


@pytest.mark.parametrize("sent", [None, "", "a b", "x" * 129, "abc\r\nSet-Cookie: x=1", "<script>", "ü"])
def test_an_invalid_or_missing_request_id_is_replaced_by_a_new_one(db, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}
    first = Client().get(reverse("login"), **headers)["X-Request-ID"]
    second = Client().get(reverse("login"), **headers)["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_every_line_of_a_request_has_its_id_django_s_own_too(db, log_lines):
    Client().get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")
    Client().post(reverse("login"), {"username": "nobody", "password": "wrong"}, HTTP_X_REQUEST_ID="req-login")
    lines = log_lines()
    assert any("[req-404]" in line and "Not Found: /no-such-page/" in line for line in lines), lines
    assert any("[req-login]" in line and "sign-in failed: user=nobody" in line for line in lines), lines
    Client().get(reverse("login"))
    assert not any("[req-" in line for line in log_lines()[len(lines) :])


def record(message, *args, exc_info=None, name="tracker.security"):
    entry = logging.LogRecord(name, logging.WARNING, __file__, 1, message, args, exc_info)
    RequestIdFilter().filter(entry)
    return entry


def test_control_characters_cannot_start_a_line(db):
    formatter = OneLineFormatter(fmt="{levelname} {name} [{request_id}]: {message}", style="{")
    forged = "x\r\n2026-01-01 INFO tracker.security: sign-in: user=admin\u2028"
    try:
        raise ValueError(f"bad value {forged}")
    except ValueError:
        text = formatter.format(record("sign-in failed: user=%s", forged, exc_info=sys.exc_info()))
    lines = text.split("\n")
    assert lines[0] == (
        "WARNING tracker.security [-]: sign-in failed: user=x\\x0d\\x0a2026-01-01 INFO tracker.security: "
        "sign-in: user=admin\\x2028"
    )
    # The traceback's lines are indented under the record, and the exception's message is escaped too.
    assert all(line.startswith("    ") for line in lines[1:]), lines
    assert (
        lines[-1] == "    ValueError: bad value x\\x0d\\x0a2026-01-01 INFO tracker.security: sign-in: user=admin\\x2028"
    )


def test_a_chained_exception_keeps_both_tracebacks_escaped(db):
    formatter = OneLineFormatter(fmt="{message}", style="{")
    try:
        try:
            raise KeyError("a\nb")
        except KeyError as error:
            raise RuntimeError("c\rd") from error
    except RuntimeError:
        text = formatter.format(record("failed", exc_info=sys.exc_info()))
    assert "KeyError: 'a\\nb'" in text  # repr() of a KeyError escapes it already
    assert "RuntimeError: c\\x0dd" in text
    assert "The above exception was the direct cause of the following exception:" in text
    assert all(line.startswith("    ") or line == "failed" for line in text.split("\n"))


def test_the_json_format_is_one_object_a_line_with_the_request_id(db):
    formatter = JsonFormatter()
    try:
        raise ValueError("boom\nline")
    except ValueError:
        entry = record("reset for %s", "a\nb@example.org", exc_info=sys.exc_info())
    entry.request = object()  # Django's handlers add the request; its repr would carry the query string
    entry.data = {"args": "('someone@example.org',)"}  # Celery's, with the task's arguments
    text = formatter.format(entry)
    assert "\n" not in text
    parsed = json.loads(text)
    assert parsed["message"] == "reset for a\nb@example.org"
    assert parsed["level"] == "WARNING" and parsed["logger"] == "tracker.security" and parsed["request_id"] == "-"
    assert "ValueError: boom" in parsed["exc_info"] and "time" in parsed
    assert "request" not in parsed and "data" not in parsed


def test_log_format_json_is_a_setting(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.LOGGING['handlers']['console']['formatter'])"
    )
    env = {**os.environ, "DJANGO_DEBUG": "1", "LOG_FORMAT": "json", "PLAN_TRACKER_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tracker.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "json"
    env["LOG_FORMAT"] = "xml"
    refused = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "tracker.settings"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "LOG_FORMAT must be plain or json" in refused.stderr


def test_the_admin_refuses_a_bad_lookup_field_with_a_400_and_one_escaped_line(db, log_lines):
    admin = SecretariatFactory(is_staff=True, is_superuser=True)
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    change = reverse("admin:tracker_user_change", args=[admin.pk])
    delete = reverse("admin:tracker_user_delete", args=[admin.pk])
    for url in (change, delete, reverse("admin:tracker_user_changelist"), reverse("admin:tracker_user_add")):
        for query in (
            "_to_field=",
            "_to_field=id&_to_field=",
            "_to_field=nope%0D%0Aforged%20line",
            "_to_field=username",
        ):
            assert client.get(f"{url}?{query}").status_code == 400, (url, query)
    assert client.post(change, {"_to_field": ""}).status_code == 400
    assert client.get(f"{change}?_to_field=id").status_code == 200
    lines = log_lines()
    assert not [line for line in lines if line.startswith("forged")], lines
    assert not [line for line in lines if "Traceback" in line or line.startswith(" ")], lines
    refused = [line for line in lines if "django.security.DisallowedModelAdminToField" in line]
    assert refused and all("nope\\x0d\\x0aforged line" in line or "username" in line for line in refused)


# --- the request id in a Celery worker ------------------------------------------------------------------


@pytest.fixture
def filesystem_worker(tmp_path):
    """A real worker on the embedded filesystem broker in tmp_path, logging JSON at INFO."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
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
                "--pool=solo",
                "--loglevel=INFO",
                "-n",
                f"logs-{os.getpid()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield tmp_path / "celery", log
    finally:
        worker.terminate()
        worker.wait(timeout=20)


def test_a_task_started_by_a_request_logs_with_the_request_s_id(db, filesystem_worker, monkeypatch):
    queue, log = filesystem_worker
    # Celery's settings prefer CELERY_BROKER_URL from the environment to the app's own broker (CI's PostgreSQL
    # run sets it to Redis): without this the publisher below would send to Redis, where the worker is not.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    publisher = Celery(broker="filesystem://", set_as_current=False)  # the tests' own app stays current
    publisher.conf.broker_transport_options = {
        "data_folder_in": str(queue / "in"),
        "data_folder_out": str(queue / "in"),
        "processed_folder": str(queue / "processed"),
        "control_folder": str(queue / "control"),
        "store_processed": False,
    }
    # The view's task is published to the worker's queue instead of this test run's own.
    monkeypatch.setattr(
        "tracker.tasks.send_password_reset.delay", lambda *args: publisher.send_task("tracker.tasks.ping")
    )
    deadline = time.monotonic() + 60
    while not (queue / "in").is_dir() and time.monotonic() < deadline:
        time.sleep(0.2)
    response = Client().post(
        reverse("password-reset"), {"email": "someone@example.org"}, HTTP_X_REQUEST_ID="req-from-browser-1"
    )
    assert response.status_code == 302
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        done = [entry for entry in lines if "succeeded" in entry["message"]]
        if done:
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"the worker did not run the task:\n{log.read_text()[-3000:]}")
    assert done[0]["request_id"] == "req-from-browser-1", done[0]
    assert "tracker.tasks.ping" in done[0]["message"]
    # The worker's own lines outside any task have none.
    assert any(entry["request_id"] in ("-", None) for entry in lines)


def test_a_task_published_outside_a_request_carries_no_request_id():
    from tracker.logs import _add_request_id

    headers = {}
    with mock.patch("tracker.logs.current_request_id", return_value=None):
        _add_request_id(headers=headers)
    assert headers == {}
