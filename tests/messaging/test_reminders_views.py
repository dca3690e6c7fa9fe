"""The action page's reminders, the secretariat's "send now" and the organisation include."""

import datetime
from unittest import mock

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from messaging.models import Reminder
from messaging.reminders import reminders_run_daily
from priorities.models import UpdateFrequency
from tests.factories import ActionFactory, ActionPartnerFactory, PartnerFactory

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def overdue_action(org_a, partner_a):
    action = ActionFactory(update_frequency=UpdateFrequency.MONTHLY)
    due = timezone.localdate() - datetime.timedelta(days=3)
    type(action).objects.filter(pk=action.pk).update(next_update_due=due)
    ActionPartnerFactory(action=action, organisation=org_a)
    action.refresh_from_db()
    return action


def remind_url(action):
    return reverse("messaging:action-send-reminder", kwargs={"pk": action.pk})


@pytest.mark.django_db
def test_send_now_needs_sign_in(client, overdue_action):
    response = client.post(remind_url(overdue_action))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Reminder.objects.exists()


@pytest.mark.django_db
def test_send_now_is_for_the_secretariat_only(client, overdue_action, partner_a, commissioner):
    for user in (partner_a, commissioner):
        client.force_login(user)
        assert client.post(remind_url(overdue_action)).status_code == 403
    assert not Reminder.objects.exists()


@pytest.mark.django_db
def test_send_now_is_post_only_and_404s_for_other_objects(client, secretariat, overdue_action):
    client.force_login(secretariat)
    assert client.get(remind_url(overdue_action)).status_code == 405
    missing = reverse("messaging:action-send-reminder", kwargs={"pk": overdue_action.pk + 1000})
    assert client.post(missing).status_code == 404


@pytest.mark.django_db
def test_send_now_writes_the_days_row_and_queues_it_after_commit(
    client, secretariat, overdue_action, partner_a, django_capture_on_commit_callbacks
):
    client.force_login(secretariat)
    with mock.patch("messaging.tasks.send_reminder_batch.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(remind_url(overdue_action), follow=True)
    row = Reminder.objects.get()
    assert (row.recipient_email, row.kind, row.sequence, row.requested_by) == (
        partner_a.email,
        Reminder.Kind.OVERDUE,
        1,
        secretariat,
    )
    delay.assert_called_once_with(reminder_ids=[row.pk])
    assert "Reminder queued for 1 contact" in response.content.decode()
    # The daily job the same day finds the row and sends it once, not twice.
    reminders_run_daily(today=timezone.localdate(), send_now=True)
    reminders_run_daily(today=timezone.localdate(), send_now=True)
    assert len(mail.outbox) == 1 and Reminder.objects.count() == 1


@pytest.mark.django_db
def test_the_action_page_shows_sent_pending_and_failed_reminders_to_staff(
    client, secretariat, commissioner, partner_a, overdue_action
):
    common = {"action": overdue_action, "cycle": overdue_action.next_update_due}
    Reminder.objects.create(
        recipient_email="sent@example.org",
        kind=Reminder.Kind.DUE_SOON,
        state=Reminder.State.SENT,
        sent_at=timezone.now(),
        **common,
    )
    Reminder.objects.create(recipient_email="waiting@example.org", kind=Reminder.Kind.OVERDUE, sequence=1, **common)
    Reminder.objects.create(
        recipient_email="bounced@example.org",
        kind=Reminder.Kind.OVERDUE,
        sequence=1,
        state=Reminder.State.FAILED,
        attempts=5,
        last_error="SMTPServerDisconnected('Connection unexpectedly closed')",
        **common,
    )
    client.force_login(secretariat)
    html = client.get(overdue_action.get_absolute_url()).content.decode()
    for text in ("sent@example.org", "waiting@example.org", "bounced@example.org", "After 5 attempts"):
        assert text in html
    assert ">Sent<" in html and ">Pending<" in html and ">Failed<" in html and "Overdue (reminder 1)" in html
    assert "SMTPServerDisconnected" in html
    assert remind_url(overdue_action) in html
    assert f"Update due {overdue_action.next_update_due:%-d %B %Y}" in html

    client.force_login(commissioner)
    html = client.get(overdue_action.get_absolute_url()).content.decode()
    assert "bounced@example.org" in html and "SMTPServerDisconnected" not in html
    assert remind_url(overdue_action) not in html

    client.force_login(partner_a)
    html = client.get(overdue_action.get_absolute_url()).content.decode()
    assert "waiting@example.org" not in html and remind_url(overdue_action) not in html


@pytest.mark.django_db
def test_the_action_page_reads_its_reminders_in_one_query(client, secretariat, overdue_action):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(secretariat)
    with CaptureQueriesContext(connection) as few:
        client.get(overdue_action.get_absolute_url())
    assert sum("priorities_reminder" in q["sql"] for q in few.captured_queries) == 1
    for n in range(5):
        Reminder.objects.create(
            recipient_email=f"p{n}@example.org", action=overdue_action, kind="due_soon", cycle=timezone.localdate()
        )
    with CaptureQueriesContext(connection) as many:
        client.get(overdue_action.get_absolute_url())
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_organisation_include_lists_its_reminders(rf, secretariat, org_a, org_b, overdue_action):
    other = PartnerFactory(organisation=org_b)
    mine = Reminder.objects.create(
        recipient_email="a@example.org",
        organisation=org_a,
        action=overdue_action,
        kind=Reminder.Kind.OVERDUE,
        sequence=2,
        cycle=overdue_action.next_update_due,
    )
    Reminder.objects.create(
        recipient_email=other.email,
        organisation=org_b,
        action=overdue_action,
        kind=Reminder.Kind.OVERDUE,
        sequence=2,
        cycle=overdue_action.next_update_due,
    )
    reminders = Reminder.objects.for_organisation(org_a)
    assert list(reminders) == [mine]
    html = render_to_string(
        "messaging/includes/organisation_reminders.html",
        {"organisation": org_a, "organisation_reminders": reminders, "user": secretariat},
    )
    assert "a@example.org" in html and other.email not in html
    assert overdue_action.get_absolute_url() in html and "(reminder 2)" in html
    empty = render_to_string(
        "messaging/includes/organisation_reminders.html",
        {"organisation": org_b, "organisation_reminders": Reminder.objects.none(), "user": secretariat},
    )
    assert "No reminders have been sent to Organisation B." in empty
