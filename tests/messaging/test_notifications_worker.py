"""End to end on the embedded broker: a real Celery worker sends notifications and reminders to a real SMTP server.

The queue is a folder (Celery's filesystem transport, what `make run` uses), so these need no Redis:
this process publishes into a temporary folder and a worker process started on the same folder
takes the tasks, reads the same database and sends to an aiosmtpd server on loopback.
"""

import datetime
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import kombu.pools
import pytest
from django.test import Client
from django.urls import reverse

from messaging.models import Notification, Reminder
from messaging.notifications import notification_choices_set
from priorities.models import Status, Submission, UpdateFrequency
from priorities.services import submission_create, submission_return
from tests.factories import ActionFactory, ActionPartnerFactory, OrganisationFactory, PartnerFactory, SecretariatFactory
from tests.messaging import test_reminders_worker

# The reminders' integration fixtures: the test database shared with the worker, and the SMTP sink.
shared_database_url = test_reminders_worker.shared_database_url
smtp_sink = test_reminders_worker.smtp_sink

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://tracker.example.org"


def reset_pools(app):
    """Forget the app's broker connections: connections made with the old options would publish into the old folder.

    The app's pool is kombu's process-wide pool for that broker URL: closing it alone would leave a
    closed pool in kombu's registry, and the next test publishing to the default broker would get
    "Acquire on closed pool". kombu.pools.reset() closes every pool and empties the registry.
    """
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def test_publishing_works_after_the_pools_are_reset():
    from tracker.celery import app

    with app.pool.acquire(block=True) as connection:
        assert connection is not None
    reset_pools(app)
    with app.pool.acquire(block=True) as connection:
        assert connection is not None
    with app.producer_pool.acquire(block=True) as producer:
        assert producer is not None


@pytest.fixture
def fs_worker(shared_database_url, smtp_sink, tmp_path, settings, monkeypatch):
    """A worker on a filesystem queue under tmp_path, and this process's Celery app publishing into it."""
    from tracker.celery import app

    queue = tmp_path / "celery"
    options = {
        "data_folder_in": str(queue / "in"),
        "data_folder_out": str(queue / "in"),
        "processed_folder": str(queue / "processed"),
        "control_folder": str(queue / "control"),
        "store_processed": False,
    }
    for folder in ("in", "processed", "control"):
        (queue / folder).mkdir(parents=True, exist_ok=True)
    settings.SITE_URL = SITE
    # Celery reads CELERY_BROKER_URL from the environment before app.conf (CI's PostgreSQL run sets it to
    # Redis): without this the tasks would be published to Redis, where no worker of this test listens.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "tracker.settings",
        "DATABASE_URL": shared_database_url,
        "DATABASE_CONN_MAX_AGE": "0",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_sink.port),
        "EMAIL_TIMEOUT": "5",
        "SITE_URL": SITE,
        "REMINDER_RETRY_BACKOFF_SECONDS": "1",
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log_path = tmp_path / "worker.log"
    log = open(log_path, "w+")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tracker", "worker", "--pool=solo", "--loglevel=INFO"]
        + ["-n", f"notifications-{os.getpid()}-{time.monotonic_ns()}@%h"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker.log_path = log_path
    saved = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager)

    app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager = "filesystem://", options, False
    reset_pools(app)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager = saved
        reset_pools(app)


def settle(worker, sink, count, model=Notification, timeout=60):
    """Wait for `count` emails and for every row of `model` to be sent; then a moment more for any extra email."""
    assert sink.wait_for(count, timeout=timeout), worker.log_path.read_text()
    deadline = time.monotonic() + timeout
    while model.objects.exclude(state="sent").exists():
        assert time.monotonic() < deadline, worker.log_path.read_text()
        time.sleep(0.2)
    time.sleep(1.5)
    assert worker.poll() is None, worker.log_path.read_text()
    return [message for _, message in sink.messages]


def body(message):
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def people(shared_database_url):
    organisation = OrganisationFactory(name="Europol", slug="europol")
    owner = SecretariatFactory(username="owner", email="owner@example.org")
    SecretariatFactory(username="colleague", email="colleague@example.org")
    ann = PartnerFactory(username="ann", email="ann@example.org", organisation=organisation)
    action = ActionFactory(code="5.31", owner=owner, update_frequency=UpdateFrequency.QUARTERLY)
    ActionPartnerFactory(action=action, organisation=organisation)
    return owner, ann, action


def test_a_submission_emails_the_owner_once_and_a_return_emails_the_partner_once_with_the_reason(
    people, fs_worker, smtp_sink
):
    owner, ann, action = people
    submission = submission_create(action=action, by=ann, status=Status.AT_RISK, note="Funding delayed")
    [message] = settle(fs_worker, smtp_sink, 1)
    assert message["To"] == "owner@example.org" and "5.31" in message["Subject"]
    assert "Funding delayed" in body(message) and f"{SITE}/reviews/#submission-{submission.pk}" in body(message)
    assert message["Message-ID"] == Notification.objects.get().message_id

    submission_return(submission=submission, by=owner, reason="Which donor? Add the letter.")
    messages = settle(fs_worker, smtp_sink, 2)
    assert len(messages) == 2
    assert messages[1]["To"] == "ann@example.org" and messages[1]["Subject"].startswith("Returned:")
    assert "Reason: Which donor? Add the letter." in body(messages[1])


def test_a_digest_choice_gives_one_digest(people, fs_worker, smtp_sink):
    from tracker.celery import app

    owner, ann, action = people
    notification_choices_set(user=owner, choices={"submitted": Notification.Delivery.DIGEST})
    second = ActionPartnerFactory(organisation=ann.organisation, action__owner=owner, action__code="5.32").action
    submission_create(action=action, by=ann, status=Status.ON_TRACK, note="First")
    submission_create(action=second, by=ann, status=Status.ON_TRACK, note="Second")
    time.sleep(2)
    assert smtp_sink.messages == []
    app.send_task("priorities.tasks.send_notification_digests")
    [digest] = settle(fs_worker, smtp_sink, 1)
    assert digest["To"] == "owner@example.org" and "daily digest: 2 notifications" in digest["Subject"]
    assert "5.31" in body(digest) and "5.32" in body(digest)


def test_a_reminder_s_link_opened_without_a_session_records_a_submission_once(people, fs_worker, smtp_sink):
    from tracker.celery import app

    owner, ann, action = people
    today = datetime.date(2025, 6, 11)
    type(action).objects.filter(pk=action.pk).update(next_update_due=today + datetime.timedelta(days=3))
    app.send_task("priorities.tasks.send_daily_reminders", kwargs={"today": today.isoformat()})
    [reminder] = settle(fs_worker, smtp_sink, 1, model=Reminder)
    assert reminder["To"] == "ann@example.org"
    path = re.search(re.escape(SITE) + r"(/report/\S+/)", body(reminder)).group(1)

    anonymous = Client()
    assert "5.31" in anonymous.get(path).content.decode()
    response = anonymous.post(path, {"status": Status.OFF_TRACK, "note": "Partner withdrew", "evidence_url": ""})
    assert response.status_code == 200, response.content.decode()
    submission = Submission.objects.get()
    assert (submission.submitted_by, submission.state, submission.action) == (ann, "submitted", action)
    staff = Client()
    staff.force_login(owner)
    queue = staff.get(reverse("overview:review-queue")).content.decode()
    assert f'id="submission-{submission.pk}"' in queue and "Reported from an email link" in queue
    # The owner hears of it once, through the worker.
    messages = settle(fs_worker, smtp_sink, 2)
    assert [m["To"] for m in messages] == ["ann@example.org", "owner@example.org"]
    assert "Reported from an email link sent to ann@example.org." in body(messages[1])

    second = anonymous.post(path, {"status": Status.ON_TRACK, "note": "Again", "evidence_url": ""})
    assert second.status_code == 410 and "already been used" in second.content.decode()
    assert Submission.objects.count() == 1
