"""Reminder rules, rows and sending: each owed reminder written once and sent once."""

import datetime
import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from messaging.models import Reminder
from messaging.reminders import (
    NO_HISTORY,
    Held,
    PartnerHistory,
    build_digest,
    digest_message_id,
    partner_contacts,
    partner_reminder_due,
    reminders_owed,
    reminders_run_daily,
    reminders_send_batch,
    reminders_send_for_action,
)
from priorities.models import Status, UpdateFrequency
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CommissionerFactory,
    OrganisationFactory,
    PartnerFactory,
    SecretariatFactory,
)
from tests.messaging.reminder_clock import Clock

d = datetime.date
TODAY = d(2025, 6, 11)  # a Wednesday
MONDAY = d(2025, 6, 16)

Kind = Reminder.Kind
State = Reminder.State


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://tracker.example.org"


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The days in these tests are the clock's days too: what was sent when is what the schedule counts from."""
    return Clock(monkeypatch, TODAY)


def run_on(clock, day):
    """The daily job on `day`, at 08:00 that day, sending at once."""
    clock.set(day)
    return reminders_run_daily(today=day, send_now=True)


def make_action(*, due, owner=None, partners=(), status=Status.ON_TRACK, code=None):
    extra = {"code": code} if code else {}
    action = ActionFactory(update_frequency=UpdateFrequency.MONTHLY, owner=owner, status=status, **extra)
    # next_update_due is kept by the services; set it directly to pin the scenario.
    type(action).objects.filter(pk=action.pk).update(next_update_due=due)
    action.refresh_from_db()
    for organisation in partners:
        ActionPartnerFactory(action=action, organisation=organisation)
    return action


ago = lambda days: TODAY - datetime.timedelta(days=days)  # noqa: E731
later = lambda days: TODAY + datetime.timedelta(days=days)  # noqa: E731


@pytest.mark.parametrize(
    ("days_left", "history", "owed", "held", "next_on"),
    [
        (8, NO_HISTORY, None, None, later(1)),
        (7, NO_HISTORY, (Kind.DUE_SOON, 0), None, None),
        (0, NO_HISTORY, (Kind.DUE_SOON, 0), None, None),  # due today is not yet overdue
        (2, PartnerHistory(due_soon_on=ago(3)), None, Held.NOT_DUE_AGAIN, later(3)),  # next: the day after due
        (-1, NO_HISTORY, (Kind.OVERDUE, 1), None, None),
        # Never reminded (the installation started late, or the action is long overdue): reminded now.
        (-29, NO_HISTORY, (Kind.OVERDUE, 1), None, None),
        (-200, NO_HISTORY, (Kind.OVERDUE, 1), None, None),
        # Counted from the day the previous reminder was sent, not from the due date.
        (
            -200,
            PartnerHistory(last_sequence=1, last_written_on=ago(9), last_sent_on=ago(2)),
            None,
            Held.NOT_DUE_AGAIN,
            later(5),
        ),
        (
            -200,
            PartnerHistory(last_sequence=1, last_written_on=ago(9), last_sent_on=ago(7)),
            (Kind.OVERDUE, 2),
            None,
            None,
        ),
        (
            -30,
            PartnerHistory(last_sequence=3, last_written_on=ago(7), last_sent_on=ago(7)),
            (Kind.OVERDUE, 4),
            None,
            None,
        ),
        # After the fourth, every four weeks.
        (
            -30,
            PartnerHistory(last_sequence=4, last_written_on=ago(7), last_sent_on=ago(7)),
            None,
            Held.NOT_DUE_AGAIN,
            later(21),
        ),
        (
            -60,
            PartnerHistory(last_sequence=4, last_written_on=ago(28), last_sent_on=ago(28)),
            (Kind.OVERDUE, 5),
            None,
            None,
        ),
        (
            -400,
            PartnerHistory(last_sequence=12, last_written_on=ago(30), last_sent_on=ago(29)),
            (Kind.OVERDUE, 13),
            None,
            None,
        ),
        # Never two waiting: a reminder not sent yet (the worker was down) goes first; the next counts from it.
        (-40, PartnerHistory(last_sequence=1, last_written_on=ago(20), pending=True), None, Held.PENDING, None),
        (-40, PartnerHistory(last_sequence=1, last_written_on=ago(20), sending=True), None, Held.BEING_SENT, None),
        # One that was never sent (failed after five attempts) counts from the day it was written.
        (-40, PartnerHistory(last_sequence=1, last_written_on=ago(7)), (Kind.OVERDUE, 2), None, None),
        (-40, PartnerHistory(last_sequence=1, last_written_on=ago(6)), None, Held.NOT_DUE_AGAIN, later(1)),
    ],
)
def test_partner_reminder_rule(days_left, history, owed, held, next_on):
    decision = partner_reminder_due(due=TODAY + datetime.timedelta(days=days_left), today=TODAY, history=history)
    assert ((decision.kind, decision.sequence) if decision.kind else None, decision.held, decision.next_on) == (
        owed,
        held,
        next_on,
    )


@pytest.mark.django_db
def test_contacts_are_active_partner_users_else_the_contact_email():
    with_users = OrganisationFactory(contact_email="office@a.example")
    PartnerFactory(organisation=with_users, email="Ann@A.example")
    PartnerFactory(organisation=with_users, email="bob@a.example")
    PartnerFactory(organisation=with_users, email="gone@a.example", is_active=False)
    inactive_only = OrganisationFactory(contact_email="info@b.example")
    PartnerFactory(organisation=inactive_only, email="left@b.example", is_active=False)
    nobody = OrganisationFactory(contact_email="")
    contacts = partner_contacts(organisation_ids={with_users.pk, inactive_only.pk, nobody.pk})
    assert [c.email for c in contacts[with_users.pk]] == ["ann@a.example", "bob@a.example"]
    assert [(c.email, c.user_id) for c in contacts[inactive_only.pk]] == [("info@b.example", None)]
    assert nobody.pk not in contacts


@pytest.fixture
def world(db, clock):
    """Two organisations: A has two users, B only a contact email; four actions at different stages."""
    org_a = OrganisationFactory(name="Org A", slug="org-a", contact_email="a-office@example.org")
    org_b = OrganisationFactory(name="Org B", slug="org-b", contact_email="b-office@example.org")
    ann = PartnerFactory(username="ann", email="ann@example.org", organisation=org_a)
    bob = PartnerFactory(username="bob", email="bob@example.org", organisation=org_a)
    owner = SecretariatFactory(username="owner", email="owner@example.org")
    commissioner = CommissionerFactory(username="commissioner", email="comm@example.org")
    due_soon = make_action(due=TODAY + datetime.timedelta(days=3), owner=owner, partners=[org_a, org_b], code="9.1")
    overdue = make_action(due=TODAY - datetime.timedelta(days=2), owner=owner, partners=[org_a], code="9.2")
    escalate = make_action(due=TODAY - datetime.timedelta(days=14), owner=owner, partners=[org_b], code="9.3")
    later = make_action(due=TODAY + datetime.timedelta(days=30), owner=owner, partners=[org_a, org_b], code="9.4")
    done = make_action(
        due=TODAY - datetime.timedelta(days=3), owner=owner, partners=[org_a], status=Status.COMPLETED, code="9.5"
    )
    return locals()


def digests_by_recipient():
    return {message.to[0]: message for message in mail.outbox}


def test_one_digest_per_contact_with_the_right_actions(world):
    summary = reminders_run_daily(today=TODAY, send_now=True)
    digests = digests_by_recipient()
    assert sorted(digests) == ["ann@example.org", "b-office@example.org", "bob@example.org", "owner@example.org"]
    assert len(mail.outbox) == 4
    for email in ("ann@example.org", "bob@example.org"):
        body = digests[email].body
        assert "9.1 " in body and "9.2 " in body
        assert "9.3 " not in body and "9.4 " not in body and "9.5 " not in body
    b_body = digests["b-office@example.org"].body
    assert "9.1 " in b_body and "9.3 " in b_body and "9.2 " not in b_body
    # 9.3 is 14 days overdue: escalated to its owner as well.
    owner_body = digests["owner@example.org"].body
    assert "9.3 " in owner_body and "9.1 " not in owner_body
    assert summary.written == 7 and len(summary.outcome.sent_ids) == 7
    assert set(summary.recipients["ann@example.org"]["kinds"]) == {"Due soon", "Overdue"}
    # Each action with its due date and a link straight to it, in both parts.
    html = digests["ann@example.org"].alternatives[0][0]
    url = "https://tracker.example.org" + world["overdue"].get_absolute_url()
    assert url in digests["ann@example.org"].body and f'href="{url}"' in html
    assert "9 June 2025" in digests["ann@example.org"].body and "2 days overdue" in html
    assert 'name="viewport"' in html
    assert Reminder.objects.filter(state=State.SENT).count() == 7


def test_running_the_job_again_sends_nothing_more(world):
    reminders_run_daily(today=TODAY, send_now=True)
    sent = len(mail.outbox)
    again = reminders_run_daily(today=TODAY, send_now=True)
    assert again.written == 0 and again.outcome.sent_ids == []
    assert len(mail.outbox) == sent
    # The next day owes nothing: each overdue reminder went out yesterday, the next is a week after it.
    mail.outbox.clear()
    next_day = run_on(world["clock"], TODAY + datetime.timedelta(days=1))
    assert next_day.written == 0 and mail.outbox == []
    # A week after they were sent, the second ones (9.3 is 21 days overdue by then); 9.1 is overdue now too.
    week_later = run_on(world["clock"], TODAY + datetime.timedelta(days=7))
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "b-office@example.org", "bob@example.org"]
    assert week_later.written == 6
    assert {
        (r.recipient_email, r.action.code, r.sequence)
        for r in Reminder.objects.filter(sent_at__date=TODAY + datetime.timedelta(days=7))
    } == {
        ("ann@example.org", "9.1", 1),
        ("bob@example.org", "9.1", 1),
        ("b-office@example.org", "9.1", 1),
        ("ann@example.org", "9.2", 2),
        ("bob@example.org", "9.2", 2),
        ("b-office@example.org", "9.3", 2),
    }


def test_overdue_reminders_weekly_for_four_then_every_four_weeks_until_reported(world):
    action = world["overdue"]
    type(action).objects.filter(pk=action.pk).update(next_update_due=TODAY)
    for offset in range(-10, 150):
        run_on(world["clock"], TODAY + datetime.timedelta(days=offset))
    rows = Reminder.objects.filter(action=action, recipient_email="ann@example.org").order_by("created_at", "pk")
    assert [(r.kind, r.sequence, (r.sent_at.date() - TODAY).days) for r in rows] == [
        (Kind.DUE_SOON, 0, -7),
        (Kind.OVERDUE, 1, 1),
        (Kind.OVERDUE, 2, 8),
        (Kind.OVERDUE, 3, 15),
        (Kind.OVERDUE, 4, 22),
        (Kind.OVERDUE, 5, 50),
        (Kind.OVERDUE, 6, 78),
        (Kind.OVERDUE, 7, 106),
        (Kind.OVERDUE, 8, 134),
    ]
    assert Reminder.objects.filter(action=action, kind=Kind.ESCALATION).count() == 1
    assert all(r.state == State.SENT for r in rows)


def test_a_late_worker_delays_the_next_reminder_it_never_doubles_it(world):
    """Counted from what was sent: a reminder that waited for a worker is followed a week after it went out."""
    action, clock = world["overdue"], world["clock"]
    clock.set(TODAY)
    reminders_run_daily(today=TODAY)  # written, sending queued ... and the worker is down for three weeks
    assert set(Reminder.objects.filter(action=action).values_list("state", flat=True)) == {State.PENDING}
    for offset in range(1, 21):
        clock.set(TODAY + datetime.timedelta(days=offset))
        reminders_run_daily(today=TODAY + datetime.timedelta(days=offset))
        # Ann's and Bob's first reminders, still waiting; nothing more for the organisation.
        assert Reminder.objects.filter(action=action, organisation__isnull=False).count() == 2
    # The worker is back on day 21: the waiting reminder goes out, no second one with it.
    run_on(clock, TODAY + datetime.timedelta(days=21))
    assert {(r.sequence, r.state) for r in Reminder.objects.filter(action=action, kind=Kind.OVERDUE)} == {
        (1, State.SENT)
    }
    run_on(clock, TODAY + datetime.timedelta(days=27))
    assert not Reminder.objects.filter(action=action, sequence=2).exists()
    run_on(clock, TODAY + datetime.timedelta(days=28))
    assert Reminder.objects.filter(action=action, sequence=2, state=State.SENT).count() == 2  # ann and bob


def test_an_action_overdue_for_months_is_reminded_until_its_partner_reports(world):
    """Installed late, or never reminded: a long-overdue action is reminded at once, then on the cadence."""
    action, clock = world["overdue"], world["clock"]
    type(action).objects.filter(pk=action.pk).update(next_update_due=TODAY - datetime.timedelta(days=200))
    run_on(clock, TODAY)
    ann = digests_by_recipient()["ann@example.org"]
    assert "9.2 " in ann.body and "200 days overdue" in ann.body
    assert ann.subject == "Progress updates overdue: 2 actions"
    # Its partner reports (the update is accepted): the next due date starts a new cycle, nothing overdue.
    type(action).objects.filter(pk=action.pk).update(next_update_due=TODAY + datetime.timedelta(days=30))
    mail.outbox.clear()
    run_on(clock, TODAY + datetime.timedelta(days=7))
    assert "9.2 " not in "".join(m.body for m in mail.outbox)


def test_a_due_date_moved_on_the_day_of_a_reminder_is_reminded_the_next_day_not_twice_that_day(world):
    """Found by the stateful test: an import changed an overdue action's due date after the morning's run,
    and the evening's run reminded the same people of it again (a new due date starts a new cycle)."""
    action, clock = world["overdue"], world["clock"]
    run_on(clock, TODAY)
    assert Reminder.objects.filter(action=action, recipient_email="ann@example.org").count() == 1
    type(action).objects.filter(pk=action.pk).update(next_update_due=TODAY - datetime.timedelta(days=1))
    mail.outbox.clear()
    again = reminders_run_daily(today=TODAY, send_now=True)
    assert "9.2 " not in "".join(m.body for m in mail.outbox)
    assert again.written == 0
    assert Reminder.objects.filter(action=action, recipient_email="ann@example.org").count() == 1
    # The next day, the new due date's first overdue reminder goes out.
    run_on(clock, TODAY + datetime.timedelta(days=1))
    rows = Reminder.objects.filter(action=action, recipient_email="ann@example.org").order_by("created_at", "pk")
    assert [(r.cycle, r.sequence) for r in rows] == [
        (TODAY - datetime.timedelta(days=2), 1),
        (TODAY - datetime.timedelta(days=1), 1),
    ]


def test_weekly_summary_goes_to_the_commissioner_on_mondays_only(world):
    reminders_run_daily(today=TODAY, send_now=True)
    assert "comm@example.org" not in digests_by_recipient()
    mail.outbox.clear()
    reminders_run_daily(today=MONDAY, send_now=True)
    summary = digests_by_recipient()["comm@example.org"]
    assert summary.subject.startswith("Weekly summary")
    for code in ("9.1 ", "9.2 ", "9.3 "):
        assert code in summary.body
    assert "9.5 " not in summary.body
    mail.outbox.clear()
    reminders_run_daily(today=MONDAY, send_now=True)
    assert "comm@example.org" not in digests_by_recipient()


def test_dry_run_writes_and_sends_nothing(world):
    summary = reminders_run_daily(today=TODAY, dry_run=True)
    assert summary.dry_run and set(summary.recipients) >= {"ann@example.org", "owner@example.org"}
    assert not Reminder.objects.exists() and mail.outbox == []


def test_the_daily_job_queues_sending_only_after_commit(world, django_capture_on_commit_callbacks):
    with mock.patch("messaging.tasks.send_reminder_batch.delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            reminders_run_daily(today=TODAY)
        delay.assert_not_called()
        for callback in callbacks:
            callback()
    queued = sorted(pk for call in delay.call_args_list for pk in call.kwargs["reminder_ids"])
    assert queued == sorted(Reminder.objects.values_list("pk", flat=True))
    assert mail.outbox == []


def test_the_task_sends_the_rows(world, settings, django_capture_on_commit_callbacks):
    from messaging.tasks import send_daily_reminders

    settings.CELERY_TASK_ALWAYS_EAGER = True
    from tracker.celery import app

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send_daily_reminders.delay(today=TODAY.isoformat())
    finally:
        app.conf.task_always_eager = False
    assert len(mail.outbox) == 4
    assert Reminder.objects.exclude(state=State.SENT).count() == 0


def test_message_id_is_stable_and_derived_from_the_rows(world):
    reminders_run_daily(today=TODAY, send_now=True)
    message = digests_by_recipient()["ann@example.org"]
    rows = Reminder.objects.filter(recipient_email="ann@example.org")
    expected = digest_message_id(recipient_email="ann@example.org", reminder_ids=[r.pk for r in rows])
    assert message.extra_headers["Message-ID"] == expected
    assert message.message()["Message-ID"] == expected
    assert {r.message_id for r in rows} == {expected}
    rebuilt = build_digest(recipient_email="ann@example.org", reminders=list(rows), today=TODAY)
    assert rebuilt.extra_headers["Message-ID"] == expected


def test_the_digest_says_one_day_in_the_singular_and_dates_in_full(world):
    reminders_run_daily(today=TODAY, send_now=True)
    row = Reminder.objects.filter(kind=Reminder.Kind.OVERDUE).select_related("action").first()
    due = datetime.date(2025, 12, 31)
    row.cycle = due
    digest = build_digest(recipient_email=row.recipient_email, reminders=[row], today=due + datetime.timedelta(days=1))
    html = digest.alternatives[0][0]
    assert "Due: 31 December 2025 (1 day overdue)" in digest.body
    assert "Due 31 December 2025 <strong" in html and "1 day overdue</strong>" in html
    later = build_digest(recipient_email=row.recipient_email, reminders=[row], today=due + datetime.timedelta(days=3))
    assert "(3 days overdue)" in later.body


class BrokenConnection(LocmemBackend):
    """A mail server that accepts `accept` messages, then fails as a stopped server does."""

    accept = 0

    def send_messages(self, messages):
        if BrokenConnection.accept <= 0:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        BrokenConnection.accept -= 1
        return super().send_messages(messages)


def test_an_smtp_failure_mid_batch_puts_the_rest_back_and_a_retry_sends_each_once(world):
    from messaging.reminders import reminders_record

    reminders_record(owed=reminders_owed(today=TODAY))
    ids = list(Reminder.objects.values_list("pk", flat=True))
    BrokenConnection.accept = 1
    outcome = reminders_send_batch(reminder_ids=ids, claim_token="task-1", connection=BrokenConnection())
    assert outcome.messages == 1 and outcome.retry_ids
    assert Reminder.objects.filter(state=State.PENDING, attempts=1).count() == len(outcome.retry_ids)
    assert "SMTPServerDisconnected" in Reminder.objects.filter(state=State.PENDING).first().last_error
    BrokenConnection.accept = 100
    again = reminders_send_batch(reminder_ids=ids, claim_token="task-1", connection=BrokenConnection())
    assert sorted(again.sent_ids) == sorted(outcome.retry_ids)
    assert len(mail.outbox) == 4
    recipients = set(Reminder.objects.values_list("recipient_email", flat=True))
    assert sorted(m.to[0] for m in mail.outbox) == sorted(recipients)


def test_five_failed_attempts_mark_the_rows_failed(world):
    from messaging.reminders import reminders_record

    reminders_record(owed=reminders_owed(today=TODAY))
    ids = list(Reminder.objects.values_list("pk", flat=True))
    BrokenConnection.accept = 0
    for attempt in range(1, 6):
        outcome = reminders_send_batch(reminder_ids=ids, claim_token="task-2", connection=BrokenConnection())
        if attempt < 5:
            assert sorted(outcome.retry_ids) == sorted(ids)
    assert outcome.retry_ids == []
    assert set(Reminder.objects.values_list("state", "attempts")) == {(State.FAILED, 5)}
    assert mail.outbox == []


def test_a_refused_recipient_fails_at_once_and_the_others_still_go(world):
    from messaging.reminders import reminders_record

    reminders_record(owed=reminders_owed(today=TODAY))
    ids = list(Reminder.objects.values_list("pk", flat=True))

    class Refusing(LocmemBackend):
        def send_messages(self, messages):
            if messages[0].to == ["bob@example.org"]:
                raise smtplib.SMTPRecipientsRefused({"bob@example.org": (550, b"No such user")})
            return super().send_messages(messages)

    outcome = reminders_send_batch(reminder_ids=ids, claim_token="task-3", connection=Refusing())
    assert set(Reminder.objects.filter(state=State.FAILED).values_list("recipient_email", flat=True)) == {
        "bob@example.org"
    }
    assert outcome.retry_ids == [] and len(mail.outbox) == 3


def test_rows_claimed_by_another_task_are_not_sent_twice_but_a_redelivered_task_takes_its_own_back(world):
    from messaging.reminders import reminders_record

    reminders_record(owed=reminders_owed(today=TODAY))
    ids = list(Reminder.objects.values_list("pk", flat=True))
    # Task A claimed the rows and its worker was killed before sending.
    Reminder.objects.update(state=State.SENDING, claim_token="task-A")
    other = reminders_send_batch(reminder_ids=ids, claim_token="task-B")
    assert other.sent_ids == [] and mail.outbox == []
    redelivered = reminders_send_batch(reminder_ids=ids, claim_token="task-A")
    assert sorted(redelivered.sent_ids) == sorted(ids) and len(mail.outbox) == 4


def test_a_secretariat_reminder_uses_the_daily_rows_so_the_day_is_not_doubled(
    world, django_capture_on_commit_callbacks
):
    secretary = SecretariatFactory()
    with django_capture_on_commit_callbacks(execute=False):
        rows = reminders_send_for_action(action=world["overdue"], by=secretary, today=TODAY)
    assert {(r.recipient_email, r.kind, r.sequence) for r in rows} == {
        ("ann@example.org", Kind.OVERDUE, 1),
        ("bob@example.org", Kind.OVERDUE, 1),
    }
    assert all(r.requested_by == secretary for r in rows)
    reminders_send_batch(reminder_ids=[r.pk for r in rows], claim_token="manual")
    assert len(mail.outbox) == 2
    mail.outbox.clear()
    reminders_run_daily(today=TODAY, send_now=True)
    ann = digests_by_recipient()["ann@example.org"]
    assert "9.1 " in ann.body and "9.2 " not in ann.body
    # Pressing again the same day writes nothing new.
    with django_capture_on_commit_callbacks(execute=False):
        again = reminders_send_for_action(action=world["overdue"], by=secretary, today=TODAY)
    assert {r.state for r in again} == {State.SENT}
    assert Reminder.objects.filter(action=world["overdue"]).count() == 2


def test_outside_the_schedule_a_secretariat_reminder_is_its_own_kind_once_a_day(world):
    secretary = SecretariatFactory()
    rows = reminders_send_for_action(action=world["later"], by=secretary, today=TODAY)
    assert {(r.kind, r.cycle) for r in rows} == {(Kind.MANUAL, TODAY)}
    assert len(rows) == 3  # ann, bob and org B's contact email
    assert len(reminders_send_for_action(action=world["later"], by=secretary, today=TODAY)) == 3
    assert Reminder.objects.filter(action=world["later"]).count() == 3


@pytest.mark.django_db
def test_the_unique_constraint_refuses_a_second_row():
    from django.db import IntegrityError, transaction

    action = make_action(due=TODAY)
    Reminder.objects.create(recipient_email="x@example.org", action=action, kind=Kind.DUE_SOON, cycle=TODAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reminder.objects.create(recipient_email="x@example.org", action=action, kind=Kind.DUE_SOON, cycle=TODAY)


def test_send_reminders_command_dry_run_prints_who_and_writes_nothing(world):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("send_reminders", "--dry-run", "--date", TODAY.isoformat(), stdout=out)
    text = out.getvalue()
    assert "Wednesday 11 June 2025 (dry run)" in text
    assert "ann@example.org: 2 actions (9.1, 9.2); Due soon, Overdue" in text
    assert "owner@example.org: 1 action (9.3); Escalated to owner" in text
    assert "Would write 7 reminder(s) for 4 recipient(s)." in text
    assert not Reminder.objects.exists() and mail.outbox == []


def test_send_reminders_command_sends_without_a_worker(world):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("send_reminders", "--date", TODAY.isoformat(), stdout=out)
    assert "Wrote 7 reminder(s) for 4 recipient(s)." in out.getvalue()
    assert "Sent 4 email(s) covering 7 reminder(s); 0 failed" in out.getvalue()
    assert len(mail.outbox) == 4
    out = StringIO()
    call_command("send_reminders", "--date", TODAY.isoformat(), stdout=out)
    assert "Wrote 0 reminder(s) for 0 recipient(s)." in out.getvalue() and len(mail.outbox) == 4


@pytest.mark.django_db
def test_send_reminders_command_refuses_a_bad_date():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_reminders", "--date", "11/06/2025")


@pytest.mark.django_db
def test_the_daily_schedule_is_stored_for_beat_at_eight_london_time():
    import importlib

    from django.apps import apps
    from django_celery_beat.models import PeriodicTask

    # What the data migration does, run again on an emptied table (a transactional test may have flushed it).
    migration = importlib.import_module("priorities.migrations.0006_reminder_schedule")
    PeriodicTask.objects.filter(name=migration.TASK_NAME).delete()
    migration.create_schedule(apps, None)
    migration.create_schedule(apps, None)
    assert PeriodicTask.objects.filter(name=migration.TASK_NAME).count() == 1
    task = PeriodicTask.objects.select_related("crontab").get(task="priorities.tasks.send_daily_reminders")
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("0", "8", "Europe/London")


def test_a_secretariat_reminder_after_a_failure_tries_the_failed_rows_again(world, django_capture_on_commit_callbacks):
    secretary = SecretariatFactory()
    with django_capture_on_commit_callbacks(execute=False):
        rows = reminders_send_for_action(action=world["overdue"], by=secretary, today=TODAY)
    Reminder.objects.filter(pk__in=[r.pk for r in rows]).update(
        state=State.FAILED, attempts=5, last_error="SMTPServerDisconnected"
    )
    with mock.patch("messaging.tasks.send_reminder_batch.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            again = reminders_send_for_action(action=world["overdue"], by=secretary, today=TODAY)
    assert {(r.state, r.attempts) for r in again} == {(State.PENDING, 0)}
    assert set(Reminder.objects.filter(action=world["overdue"]).values_list("state", flat=True)) == {State.PENDING}
    assert sorted(delay.call_args.kwargs["reminder_ids"]) == sorted(r.pk for r in rows)


def test_retrying_failed_reminders_leaves_sent_ones_alone(world, django_capture_on_commit_callbacks):
    from messaging.reminders import reminders_record, reminders_retry_failed

    reminders_record(owed=reminders_owed(today=TODAY))
    failed, sent = Reminder.objects.order_by("pk")[:2]
    Reminder.objects.filter(pk=failed.pk).update(state=State.FAILED, attempts=5)
    Reminder.objects.filter(pk=sent.pk).update(state=State.SENT, sent_at=datetime.datetime.now(datetime.UTC))
    with mock.patch("messaging.tasks.send_reminder_batch.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            assert reminders_retry_failed(reminder_ids=[failed.pk, sent.pk]) == 1
    delay.assert_called_once_with(reminder_ids=[failed.pk])
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.state, failed.attempts, sent.state) == (State.PENDING, 0, State.SENT)


def test_a_database_failure_mid_batch_retries_the_same_task(settings):
    """The task is retried under its own id (so it takes back its claimed rows) rather than dropped."""
    from unittest import mock

    from django.db import OperationalError

    from messaging.reminders import SendOutcome
    from messaging.tasks import send_reminder_batch

    calls = []

    def flaky(*, reminder_ids, claim_token):
        calls.append(claim_token)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return SendOutcome()

    with mock.patch("messaging.tasks.reminders_send_batch", side_effect=flaky):
        result = send_reminder_batch.apply(kwargs={"reminder_ids": [1, 2]}, task_id="batch-1")
    assert result.successful(), result.traceback
    assert calls == ["batch-1", "batch-1"]


def test_dry_run_lists_organisations_skipped_for_want_of_a_contact(world):
    from io import StringIO

    from django.core.management import call_command

    # Org C is owed reminders on 9.1 and 9.2 (9.4 is not due yet) but its only user is inactive and it
    # has no contact email; Org B has no user either, but its contact email receives them.
    org_c = OrganisationFactory(name="Org C", slug="org-c", contact_email="")
    PartnerFactory(username="gone", email="gone@example.org", organisation=org_c, is_active=False)
    for action in (world["due_soon"], world["overdue"], world["later"]):
        ActionPartnerFactory(action=action, organisation=org_c)
    out = StringIO()
    call_command("send_reminders", "--dry-run", "--date", TODAY.isoformat(), stdout=out)
    text = out.getvalue()
    assert "Skipped 1 organisation(s) owed a reminder that nobody would receive:" in text
    assert (
        "  Org C: no contact (no active partner user with an email, and no contact email on the organisation); "
        "actions 9.1, 9.2" in text
    )
    assert "Org B" not in text and not Reminder.objects.exists()


@pytest.mark.django_db
def test_people_invited_who_never_set_a_password_get_no_digest():
    joined = OrganisationFactory(contact_email="office@a.example")
    PartnerFactory(organisation=joined, email="member@a.example")
    invited = PartnerFactory(organisation=joined, email="invited@a.example")
    invited.set_unusable_password()
    invited.save()
    nobody_joined = OrganisationFactory(contact_email="info@b.example")
    only_invited = PartnerFactory(organisation=nobody_joined, email="new@b.example")
    only_invited.set_unusable_password()
    only_invited.save()
    contacts = partner_contacts(organisation_ids={joined.pk, nobody_joined.pk})
    assert [c.email for c in contacts[joined.pk]] == ["member@a.example"]
    assert [(c.email, c.user_id) for c in contacts[nobody_joined.pk]] == [("info@b.example", None)]
