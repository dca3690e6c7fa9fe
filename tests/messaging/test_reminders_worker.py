"""End to end: a real Celery worker on Redis sends the reminders to a real SMTP server on loopback."""

import asyncio
import datetime
import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from celery import Celery
from django.db import connection, connections

from messaging.models import Reminder
from priorities.models import UpdateFrequency
from tests.factories import ActionFactory, ActionPartnerFactory, OrganisationFactory, PartnerFactory

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REMINDERS_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
TODAY = datetime.date(2025, 6, 11)


def redis_answers():
    import redis

    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """An SMTP server that keeps what it receives; `slow` seconds per message leave time to stop it mid-batch."""

    def __init__(self, port, slow=0.0):
        self.port, self.slow = port, slow
        self.messages = []
        self.received = threading.Condition()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        if self.slow:
            # Stored only after the pause: a stop during it loses the message, as a real outage would.
            await asyncio.sleep(self.slow)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.received:
            self.messages.append((list(envelope.rcpt_tos), message))
            self.received.notify_all()
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def wait_for(self, count, timeout=60):
        with self.received:
            return self.received.wait_for(lambda: len(self.messages) >= count, timeout=timeout)


@pytest.fixture
def shared_database_url(transactional_db, tmp_path):
    """A URL the worker subprocess can reach for the database this test uses, whatever the backend.

    PostgreSQL and a file-based SQLite test database are reached by name. An in-memory SQLite test
    database cannot be shared with another process, so it is copied to a file, and this test's
    connection is pointed at the copy until the test ends.
    """
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        user = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
        yield f"postgres://{user}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
        return
    if connection.vendor != "sqlite":
        pytest.skip(f"No way to share a {connection.vendor} test database with a worker process")
    if not connection.is_in_memory_db():
        yield f"sqlite:///{settings['NAME']}"
        return
    path = tmp_path / "shared.sqlite3"
    connection.ensure_connection()
    import sqlite3

    target = sqlite3.connect(path)
    connection.connection.backup(target)
    target.close()
    in_memory = connections["default"]
    on_file = in_memory.__class__({**settings, "NAME": str(path)}, alias="default")
    connections["default"] = on_file
    try:
        yield f"sqlite:///{path}"
    finally:
        on_file.close()
        connections["default"] = in_memory


@pytest.fixture
def smtp_sink():
    sink = Sink(free_port())
    sink.start()
    yield sink
    if sink.controller is not None:
        try:
            sink.stop()
        except (AssertionError, RuntimeError):
            pass


@pytest.fixture
def reminders_worker(request, shared_database_url, smtp_sink, tmp_path, monkeypatch):
    if not redis_answers():
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}")
        pytest.skip(f"Redis does not answer at {REDIS_URL} (start it: see STACK.md)")
    import redis

    queue = f"reminders-test-{os.getpid()}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "tests.messaging.reminders_worker_settings",
        "DATABASE_URL": shared_database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "REMINDERS_TEST_QUEUE": queue,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "EMAIL_TIMEOUT": "5",
        "SITE_URL": "https://tracker.example.org",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
    }

    def start(extra_env=None, name="first"):
        log = open(tmp_path / f"worker-{name}.log", "w+")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tracker", "worker", "--pool=solo", "--loglevel=INFO"]
            + ["-Q", queue, "-n", f"{queue}-{name}@%h"],
            cwd=ROOT,
            env={**env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log_file, process.log_path = log, tmp_path / f"worker-{name}.log"
        started.append(process)
        return process

    started = []
    worker = start(extra_env=getattr(request, "param", None))
    # Celery lets CELERY_BROKER_URL in the environment override the broker given to a client.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    client = Celery(broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)  # the tests' own app stays current
    worker.client, worker.queue, worker.start = client, queue, start
    yield worker
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        process.log_file.close()
    broker = redis.Redis.from_url(REDIS_URL)
    for key in broker.scan_iter(match=f"*{queue}*"):
        broker.delete(key)


def run_daily_job(worker, today=TODAY):
    result = worker.client.send_task(
        "priorities.tasks.send_daily_reminders", kwargs={"today": today.isoformat()}, queue=worker.queue
    )
    try:
        return result.get(timeout=60)
    except Exception:
        print(worker.log_path.read_text())
        raise
    finally:
        result.forget()


def wait_until_settled(worker, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Reminder.objects.exclude(state=Reminder.State.SENT).exists():
            return
        time.sleep(0.2)
    states = list(Reminder.objects.values_list("recipient_email", "state", "attempts", "last_error"))
    pytest.fail(f"Reminders not all sent: {states}\n{worker.log_path.read_text()}")


def codes_in(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return set(re.findall(r"^- (\d+\.\d+) ", text, flags=re.MULTILINE))


@pytest.fixture
def partners(shared_database_url):
    """Five organisations: four with two active users each, one known only by its contact email."""
    contacts = {}
    actions = {}
    organisations = [OrganisationFactory(name=f"Partner {n}", slug=f"partner-{n}") for n in range(5)]
    for n, organisation in enumerate(organisations[:4]):
        for who in ("a", "b"):
            PartnerFactory(username=f"p{n}{who}", email=f"p{n}{who}@example.org", organisation=organisation)
        contacts[organisation.pk] = [f"p{n}a@example.org", f"p{n}b@example.org"]
    organisations[4].contact_email = "office@partner4.example.org"
    organisations[4].save()
    contacts[organisations[4].pk] = ["office@partner4.example.org"]
    for n, days in enumerate([3, -2, -9, 20]):
        action = ActionFactory(code=f"8.{n + 1}", update_frequency=UpdateFrequency.MONTHLY)
        type(action).objects.filter(pk=action.pk).update(next_update_due=TODAY + datetime.timedelta(days=days))
        actions[action.code] = action
    # Each organisation partners on a different set of actions; 8.4 is not due for weeks.
    links = {0: ["8.1", "8.2"], 1: ["8.2", "8.3", "8.4"], 2: ["8.1", "8.3"], 3: ["8.4"], 4: ["8.1", "8.2", "8.3"]}
    expected = {}
    for index, codes in links.items():
        organisation = organisations[index]
        for code in codes:
            ActionPartnerFactory(action=actions[code], organisation=organisation)
        due = {code for code in codes if code != "8.4"}
        for address in contacts[organisation.pk]:
            if due:
                expected[address] = due
    return expected


@pytest.mark.redis
def test_one_digest_per_contact_and_a_second_run_sends_nothing(partners, reminders_worker, smtp_sink):
    run_daily_job(reminders_worker)
    assert smtp_sink.wait_for(len(partners)), reminders_worker.log_path.read_text()
    wait_until_settled(reminders_worker)
    received = {}
    for recipients, message in smtp_sink.messages:
        assert recipients == [message["To"]]
        assert message["To"] not in received, f"{message['To']} got two digests"
        received[message["To"]] = codes_in(message)
        assert message["Message-ID"].startswith("<reminder-")
        assert message.get_body(preferencelist=("html",)) is not None
    assert received == partners

    assert run_daily_job(reminders_worker) == {"written": 0, "queued": 0}
    time.sleep(1)
    assert len(smtp_sink.messages) == len(partners)
    assert reminders_worker.poll() is None, "the worker died"


@pytest.mark.redis
def test_stopping_the_mail_server_mid_batch_ends_with_each_reminder_delivered_once(
    partners, reminders_worker, smtp_sink
):
    smtp_sink.slow = 0.3
    stopped = threading.Event()

    def stop_after_three():
        smtp_sink.wait_for(3)
        time.sleep(0.05)
        smtp_sink.stop()
        stopped.set()

    threading.Thread(target=stop_after_three, daemon=True).start()
    run_daily_job(reminders_worker)
    assert stopped.wait(30), reminders_worker.log_path.read_text()
    # Wait until the worker has met the outage and put rows back to retry.
    deadline = time.monotonic() + 30
    while not Reminder.objects.filter(attempts__gte=1, state=Reminder.State.PENDING).exists():
        assert time.monotonic() < deadline, reminders_worker.log_path.read_text()
        time.sleep(0.1)
    assert len(smtp_sink.messages) == 3
    time.sleep(1.5)
    smtp_sink.slow = 0
    smtp_sink.start()
    assert smtp_sink.wait_for(len(partners)), reminders_worker.log_path.read_text()
    wait_until_settled(reminders_worker)
    time.sleep(1)
    recipients = [message["To"] for _, message in smtp_sink.messages]
    assert sorted(recipients) == sorted(partners), "every contact once, none twice"
    assert {message["To"]: codes_in(message) for _, message in smtp_sink.messages} == partners
    assert Reminder.objects.filter(attempts__gt=1).exists()
    assert not Reminder.objects.filter(state=Reminder.State.FAILED).exists()


@pytest.mark.redis
@pytest.mark.parametrize("reminders_worker", [{"REMINDERS_TEST_VISIBILITY_TIMEOUT": "3"}], indirect=True)
def test_a_worker_killed_mid_batch_loses_nothing(partners, reminders_worker, smtp_sink):
    smtp_sink.slow = 0.3
    run_daily_job(reminders_worker)
    assert smtp_sink.wait_for(3), reminders_worker.log_path.read_text()
    # SIGKILL: no chance to acknowledge the batch task or to put its rows back.
    reminders_worker.kill()
    reminders_worker.wait(timeout=10)
    assert len(smtp_sink.messages) < len(partners)
    assert Reminder.objects.filter(state=Reminder.State.SENDING).exists()
    smtp_sink.slow = 0
    # The task was never acknowledged: Redis gives it to the next worker, whose run takes back its rows.
    second = reminders_worker.start(extra_env={"REMINDERS_TEST_VISIBILITY_TIMEOUT": "3"}, name="second")
    assert smtp_sink.wait_for(len(partners), timeout=90), second.log_path.read_text()
    wait_until_settled(second)
    time.sleep(1)
    recipients = sorted(message["To"] for _, message in smtp_sink.messages)
    assert set(recipients) == set(partners), "every contact got their digest"
    # The one email in the server's hands at the kill may be delivered again (SMTP cannot tell the
    # sender it arrived): it carries the same Message-ID, so the recipient's mail system drops it.
    distinct = {(message["To"], message["Message-ID"]) for _, message in smtp_sink.messages}
    assert len(distinct) == len(partners), "a repeat has the same Message-ID"
    assert len(recipients) - len(partners) <= 1
    assert not Reminder.objects.exclude(state=Reminder.State.SENT).exists()
