"""Retention: on generated data, a run removes exactly what the schedule says, and a dry run says the same."""

import datetime
import importlib
import random

import pytest
from axes.models import AccessLog
from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AccessEvent, SecurityEvent
from messaging.models import Notification, Reminder, ReportLink
from privacy.checks import check_retention_settings
from privacy.models import Anonymisation, RetentionHold, RetentionRun
from privacy.retention import retention_apply
from privacy.tasks import apply_retention
from tests.factories import ActionFactory, PartnerFactory, SecretariatFactory, report_link_for

SCHEDULE = {
    "RETENTION_EMAIL_BODY_DAYS": 30,
    "RETENTION_REPORT_LINK_DAYS": 20,
    "RETENTION_SECURITY_LOG_MONTHS": 2,
    "RETENTION_ACCESS_LOG_MONTHS": 3,
    "RETENTION_DEACTIVATED_ACCOUNT_MONTHS": 1,
}
STATES = [s for s, _ in Notification.State.choices]


def _months_ago(now, months):
    """Worked out here with dateutil, apart from the app's own month arithmetic."""
    return timezone.localtime(now) - relativedelta(months=months)


def _ages(rng, cutoff_days):
    """Ages in minutes around a cutoff: at random on both sides, and on the boundary itself and a minute past it."""
    limit = cutoff_days * 24 * 60
    return [rng.randint(0, 2 * limit) for _ in range(12)] + [limit, limit + 1, limit - 1]


@pytest.fixture
def daily_job(db):
    """The job as the migration makes it (a test that flushed the database, a browser test, removed it)."""
    migration = importlib.import_module("privacy.migrations.0001_initial")
    migration.create_schedule(apps, None)
    return PeriodicTask.objects.get(name=migration.TASK_NAME)


@pytest.fixture
def generated(db, settings):
    """Rows of every kind the schedule touches, of every age around each rule's cutoff; what each rule must remove."""
    for name, value in SCHEDULE.items():
        setattr(settings, name, value)
    rng = random.Random(25)
    now = timezone.now().replace(microsecond=0)
    action = ActionFactory()
    secretariat = SecretariatFactory()
    expected = {}

    # The outbox: notifications (text and link) and reminders (their error) of every state and age.
    emptied = set()
    for index, age in enumerate(_ages(rng, 30) * 2):
        state = rng.choice(STATES)
        at = now - datetime.timedelta(minutes=age)
        row = Notification.objects.create(
            key=f"event:{index}:a@example.org",
            kind=Notification.Kind.DECIDED,
            recipient_email="a@example.org",
            action=action,
            subject="Accepted: your report",
            text="Sam accepted your report.",
            link_url="https://plans.example.org/actions/1/",
            state=state,
            sent_at=at if state == Notification.State.SENT else None,
            message_id=f"<n{index}@plan-tracker>",
            created_at=at,
        )
        if at < now - datetime.timedelta(days=30) and state not in ("pending", "sending"):
            emptied.add(("notification", row.pk))
        reminder = Reminder.objects.create(
            recipient_email="a@example.org",
            action=action,
            kind=Reminder.Kind.OVERDUE,
            cycle=datetime.date(2026, 1, 1),
            sequence=index,
            state=state,
            sent_at=at if state == Reminder.State.SENT else None,
            last_error="550 mailbox a@example.org unknown" if index % 2 else "",
            created_at=at,
        )
        if index % 2 and at < now - datetime.timedelta(days=30) and state not in ("pending", "sending"):
            emptied.add(("reminder", reminder.pk))
    # An old notification already emptied is not counted again.
    Notification.objects.create(
        key="event:done", kind="decided", recipient_email="a@example.org", subject="Old", text="", state="sent",
        sent_at=now - datetime.timedelta(days=400), created_at=now - datetime.timedelta(days=400),
    )  # fmt: skip
    expected["email_bodies"] = emptied

    partner = PartnerFactory()
    links = set()
    for age in _ages(rng, 20):
        link = report_link_for(action=action, user=partner, created_at=now - datetime.timedelta(minutes=age))
        if link.created_at < now - datetime.timedelta(days=20):
            links.add(link.pk)
    expected["report_links"] = links

    security_cutoff = _months_ago(now, 2)
    old_security = set()
    for age in _ages(rng, 62):
        at = now - datetime.timedelta(minutes=age)
        event = SecurityEvent.objects.create(level="info", message="sign-in: user=a from=b", at=at)
        logged = AccessLog.objects.create(username="a", ip_address="10.0.0.1", user_agent="x", http_accept="x")
        AccessLog.objects.filter(pk=logged.pk).update(attempt_time=at)  # auto_now_add: set after
        if at < security_cutoff:
            old_security |= {("event", event.pk), ("axes", logged.pk)}
    at = security_cutoff  # exactly on the cutoff: kept
    SecurityEvent.objects.create(level="info", message="on the cutoff", at=at)
    expected["security_log"] = old_security

    access_cutoff = _months_ago(now, 3)
    old_access = set()
    for age in _ages(rng, 92):
        at = now - datetime.timedelta(minutes=age)
        event = AccessEvent.objects.create(kind="download", what="actions.csv", at=at)
        if at < access_cutoff:
            old_access.add(event.pk)
    AccessEvent.objects.create(kind="download", what="on the cutoff: kept", at=access_cutoff)
    expected["access_log"] = old_access

    account_cutoff = _months_ago(now, 1)
    due = set()
    for index, age in enumerate([0, 5, 29, 40, 45, 60, 200]):
        at = now - datetime.timedelta(days=age)
        person = PartnerFactory(is_active=False, deactivated_at=at, first_name="Leaver", last_name=f"Number{index}")
        if index == 4:  # held: kept as it is
            RetentionHold.objects.create(person=person, reason="An open case.", set_by=secretariat)
        elif at < account_cutoff:
            due.add(person.pk)
    # Deactivated long ago but active again (reactivated), and held once but released: only the second is due.
    PartnerFactory(is_active=True, deactivated_at=now - datetime.timedelta(days=400))
    released = PartnerFactory(is_active=False, deactivated_at=now - datetime.timedelta(days=400))
    RetentionHold.objects.create(
        person=released, reason="Closed.", set_by=secretariat, released_by=secretariat, released_at=now
    )
    due.add(released.pk)
    expected["deactivated_accounts"] = due

    expired = set()
    for hours in (-30, -1, 1, 30):  # negative: already expired
        store = SessionStore()
        store["x"] = 1
        store.create()
        Session.objects.filter(pk=store.session_key).update(expire_date=now + datetime.timedelta(hours=hours))
        if hours < 0:
            expired.add(store.session_key)
    expected["expired_sessions"] = expired
    return now, expected


def _state(now):
    """What each rule looks at, as sets of the rows still holding what the rule removes."""
    return {
        "email_bodies": {
            ("notification", pk) for pk in Notification.objects.exclude(text="").values_list("pk", flat=True)
        }
        | {("reminder", pk) for pk in Reminder.objects.exclude(last_error="").values_list("pk", flat=True)},
        "report_links": set(ReportLink.objects.exclude(recipient_email="").values_list("pk", flat=True)),
        "security_log": {("event", pk) for pk in SecurityEvent.objects.values_list("pk", flat=True)}
        | {("axes", pk) for pk in AccessLog.objects.values_list("pk", flat=True)},
        "access_log": set(AccessEvent.objects.values_list("pk", flat=True)),
        "deactivated_accounts": set(
            PartnerFactory._meta.model.objects.filter(is_active=False)
            .exclude(anonymisation__isnull=False)
            .values_list("pk", flat=True)
        ),
        "expired_sessions": set(Session.objects.values_list("pk", flat=True)),
    }


def test_a_run_removes_exactly_what_the_schedule_says_and_the_dry_run_reports_the_same(generated):
    now, expected = generated
    before = _state(now)
    for rule, rows in expected.items():
        assert rows and rows <= before[rule], f"the generated data has rows for {rule} to remove"
        assert before[rule] - rows, f"and rows for {rule} to keep"

    dry = retention_apply(trigger=RetentionRun.Trigger.COMMAND, dry_run=True, now=now)
    assert dry.removed == {rule: len(rows) for rule, rows in expected.items()}
    assert _state(now) == before, "a dry run removes nothing"
    assert not Anonymisation.objects.exists()

    run = retention_apply(trigger=RetentionRun.Trigger.COMMAND, now=now)
    assert run.removed == dry.removed
    after = _state(now)
    for rule, rows in expected.items():
        assert before[rule] - after[rule] == rows, rule
    # What stays of a row whose body went: the row itself, its subject and its Message-ID.
    emptied = Notification.objects.get(pk=next(pk for kind, pk in expected["email_bodies"] if kind == "notification"))
    assert (emptied.text, emptied.link_url, emptied.subject) == ("", "", "Accepted: your report")
    assert emptied.message_id.startswith("<n")
    link = ReportLink.objects.get(pk=next(iter(expected["report_links"])))
    assert link.nonce == f"removed:{link.pk}"
    anonymised = set(Anonymisation.objects.values_list("person", flat=True))
    assert anonymised == expected["deactivated_accounts"]
    assert set(Anonymisation.objects.values_list("via", flat=True)) == {"retention"}
    assert RetentionRun.objects.filter(dry_run=True).count() == RetentionRun.objects.filter(dry_run=False).count() == 1

    again = retention_apply(trigger=RetentionRun.Trigger.COMMAND, now=now)
    assert set(again.removed.values()) == {0}, "a second run on the same day finds nothing left"


def test_a_period_of_zero_keeps_that_record_for_ever(generated, settings):
    now, expected = generated
    settings.RETENTION_ACCESS_LOG_MONTHS = 0
    settings.RETENTION_DEACTIVATED_ACCOUNT_MONTHS = 0
    run = retention_apply(trigger=RetentionRun.Trigger.COMMAND, dry_run=True, now=now)
    assert "access_log" not in run.removed and "deactivated_accounts" not in run.removed
    assert run.removed["security_log"] == len(expected["security_log"])


def test_the_command_says_what_it_would_remove_then_removes_it(generated, capsys):
    now, expected = generated
    call_command("apply_retention", "--dry-run")
    dry = capsys.readouterr().out
    assert dry.startswith("Dry run: nothing was removed.")
    # The generated rows' ages were counted from the fixture's moment; the command counts from its own.
    assert "Access log (older than 3 months): " in dry and "Deactivated accounts (older than 1 month): " in dry
    call_command("apply_retention")
    real = capsys.readouterr().out
    assert real.startswith("Removed:") and dry.splitlines()[1:] == real.splitlines()[1:]


def test_the_daily_job_is_scheduled_and_applies_the_schedule(generated, daily_job):
    task = daily_job
    assert task.task == "privacy.tasks.apply_retention" and task.enabled
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == ("3", "30", "Europe/London")
    removed = apply_retention()
    assert RetentionRun.objects.get().trigger == RetentionRun.Trigger.SCHEDULE
    assert removed == RetentionRun.objects.get().removed and removed["access_log"] > 0


def test_the_retention_page_shows_the_schedule_and_the_latest_runs(generated, client, daily_job):
    retention_apply(trigger=RetentionRun.Trigger.COMMAND, dry_run=True)
    client.force_login(SecretariatFactory())
    page = client.get(reverse("privacy:retention")).content.decode()
    assert "RETENTION_ACCESS_LOG_MONTHS" in page and "3 months" in page and "Dry run" in page
    assert "A job runs every day at 03:30 (Europe/London)" in page
    PeriodicTask.objects.filter(name="Daily retention").update(enabled=False)
    assert "The job is turned off" in client.get(reverse("privacy:retention")).content.decode()


@pytest.mark.parametrize(
    ("setting", "value", "error"),
    [("RETENTION_REPORT_LINK_DAYS", 5, "privacy.E002"), ("RETENTION_ACCESS_LOG_MONTHS", -1, "privacy.E001")],
)
def test_a_schedule_that_cannot_work_fails_the_system_checks(settings, setting, value, error):
    setattr(settings, setting, value)
    assert [e.id for e in check_retention_settings(None)] == [error]
    setattr(settings, setting, 0)
    assert check_retention_settings(None) == []
