"""Notifications by email: who hears of a report and of a decision, once, as it happens or in a digest."""

import datetime
import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from indicators.services import measurement_submission_create, measurement_submission_return
from messaging.models import Notification, NotificationPreference
from messaging.notifications import (
    notification_choices,
    notification_choices_set,
    notifications_run_digest,
    notifications_send_batch,
    notify_progress_submitted,
)
from priorities.models import Status
from priorities.services import submission_accept, submission_create, submission_return
from tests.factories import ActionPartnerFactory, MeasureFactory, PartnerFactory, SecretariatFactory

Delivery = Notification.Delivery


@pytest.fixture(autouse=True)
def _eager_sending(settings):
    """The tasks run in this process once the transaction commits: what a worker would do, without one."""
    from tracker.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://tracker.example.org"
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def owner(db):
    return SecretariatFactory(username="owner", email="owner@example.org", first_name="Olive", last_name="Owner")


@pytest.fixture
def action(owner, org_a):
    action = ActionPartnerFactory(organisation=org_a, action__owner=owner, action__code="5.21").action
    return action


@pytest.fixture
def ann(org_a):
    return PartnerFactory(username="ann", email="ann@example.org", organisation=org_a, first_name="Ann")


def submit(action, by, **fields):
    fields = {"status": Status.AT_RISK, "note": "Funding delayed", "evidence_url": "https://example.org/r", **fields}
    return submission_create(action=action, by=by, **fields)


def test_a_submission_emails_the_owner_once_with_the_note_and_the_review_link(
    action, ann, owner, django_capture_on_commit_callbacks
):
    SecretariatFactory(email="other@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(action, ann)
    assert [m.to for m in mail.outbox] == [["owner@example.org"]]
    message = mail.outbox[0]
    assert "reported progress on 5.21" in message.subject
    assert "Funding delayed" in message.body and "At risk" in message.body
    assert f"https://tracker.example.org/reviews/#submission-{submission.pk}" in message.body
    assert message.extra_headers["Message-ID"].startswith("<notification-")
    assert 'name="viewport"' in message.alternatives[0][0]
    row = Notification.objects.get()
    assert (row.state, row.action, row.kind) == ("sent", action, Notification.Kind.SUBMITTED)
    # The same event again (a retried task, a second call) is the same row: no second email.
    with django_capture_on_commit_callbacks(execute=True):
        notify_progress_submitted(submission=submission)
    assert len(mail.outbox) == 1 and Notification.objects.count() == 1


def test_without_an_owner_every_active_secretariat_member_hears(org_a, ann, django_capture_on_commit_callbacks):
    action = ActionPartnerFactory(organisation=org_a).action
    SecretariatFactory(email="s1@example.org")
    SecretariatFactory(email="s2@example.org")
    SecretariatFactory(email="gone@example.org", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        submit(action, ann)
    assert sorted(m.to[0] for m in mail.outbox) == ["s1@example.org", "s2@example.org"]


def test_a_return_emails_the_submitter_with_the_reason_and_a_link_to_answer(
    action, ann, owner, django_capture_on_commit_callbacks
):
    submission = submit(action, ann)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submission_return(submission=submission, by=owner, reason="Which meeting? Add the minutes.")
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]
    message = mail.outbox[0]
    assert message.subject.startswith("Returned:") and "5.21" in message.subject
    assert "Reason: Which meeting? Add the minutes." in message.body
    assert f"https://tracker.example.org{action.get_absolute_url()}#record-update" in message.body


def test_an_acceptance_emails_the_submitter(action, ann, owner, django_capture_on_commit_callbacks):
    submission = submit(action, ann)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submission_accept(submission=submission, by=owner)
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]
    assert mail.outbox[0].subject.startswith("Accepted:") and "now at risk" in mail.outbox[0].body


def test_a_deactivated_submitter_s_decision_goes_to_the_organisation_s_contact(
    action, ann, owner, org_a, django_capture_on_commit_callbacks
):
    org_a.contact_email = "Office@Org-A.example"
    org_a.save()
    submission = submit(action, ann)
    ann.is_active = False
    ann.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        submission_return(submission=submission, by=owner, reason="Please add evidence.")
    assert [m.to for m in mail.outbox] == [["office@org-a.example"]]


def test_a_reported_indicator_value_and_its_return_are_notified(org_a, ann, owner, django_capture_on_commit_callbacks):
    measure = MeasureFactory(reporting_organisation=org_a, name="Victims identified", reporting_period=3)
    with django_capture_on_commit_callbacks(execute=True):
        value = measurement_submission_create(
            measure=measure,
            by=ann,
            period_start=datetime.date(2025, 1, 1),
            period_end=datetime.date(2025, 3, 31),
            value=7,
        )
    assert [m.to for m in mail.outbox] == [["owner@example.org"]]
    assert "Victims identified" in mail.outbox[0].subject and f"#value-submission-{value.pk}" in mail.outbox[0].body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        measurement_submission_return(submission=value, by=owner, reason="Quarter, not year to date.")
    assert [m.to for m in mail.outbox] == [["ann@example.org"]]
    assert "Reason: Quarter, not year to date." in mail.outbox[0].body


def test_a_digest_choice_holds_the_emails_until_the_daily_job_sends_one(
    action, ann, owner, django_capture_on_commit_callbacks
):
    notification_choices_set(user=owner, choices={"submitted": Delivery.DIGEST})
    other = ActionPartnerFactory(organisation=ann.organisation, action__owner=owner, action__code="5.22").action
    with django_capture_on_commit_callbacks(execute=True):
        submit(action, ann)
        submit(other, ann, note="Second one")
    assert mail.outbox == []
    assert Notification.objects.filter(delivery=Delivery.DIGEST, state="pending").count() == 2
    outcome = notifications_run_digest(send_now=True)
    assert outcome.messages == 1 and [m.to for m in mail.outbox] == [["owner@example.org"]]
    digest = mail.outbox[0]
    assert digest.subject == "Plan Tracker daily digest: 2 notifications"
    assert "5.21" in digest.body and "5.22" in digest.body and "Second one" in digest.body
    assert notifications_run_digest(send_now=True).messages == 0
    assert len(mail.outbox) == 1
    # A decision for someone who kept "as it happens" still comes at once.
    with django_capture_on_commit_callbacks(execute=True):
        submission_return(submission=ann.submissions.first(), by=owner, reason="Why?")
    assert mail.outbox[-1].to == ["ann@example.org"]


def test_a_mail_server_refusal_is_kept_as_failed_and_shown_on_the_action_page(
    action, ann, owner, client, django_capture_on_commit_callbacks
):
    with mock.patch("messaging.tasks.send_notification_batch.delay"):
        with django_capture_on_commit_callbacks(execute=True):
            submit(action, ann)
    row = Notification.objects.get()
    connection = mock.Mock()
    connection.send_messages.side_effect = smtplib.SMTPRecipientsRefused({"owner@example.org": (550, b"no")})
    with mock.patch("django.core.mail.message.EmailMessage.get_connection", return_value=connection):
        outcome = notifications_send_batch(notification_ids=[row.pk], claim_token="t", connection=connection)
    row.refresh_from_db()
    assert outcome.failed_ids == [row.pk] and row.state == "failed" and "550" in row.last_error
    client.force_login(owner)
    html = client.get(action.get_absolute_url()).content.decode()
    assert 'id="action-notifications"' in html and "owner@example.org" in html and "Failed" in html


def test_the_choices_page_saves_per_kind_and_refuses_nonsense(client, ann):
    client.force_login(ann)
    url = reverse("messaging:notification-choices")
    html = client.get(url).content.decode()
    assert "As it happens" in html and "In a daily digest" in html
    response = client.post(url, {"submitted": "now", "decided": "digest"})
    assert response.status_code == 302
    assert notification_choices(ann) == {"submitted": "now", "decided": "digest"}
    response = client.post(url, {"submitted": "hourly", "decided": "now"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert notification_choices(ann)["decided"] == "digest"
    # Only the digest choice is a row: "as it happens" is the default, stored as no row.
    assert NotificationPreference.objects.filter(user=ann).count() == 1


def test_a_partner_s_navigation_counts_returned_reports_until_answered(
    client, action, ann, owner, django_capture_on_commit_callbacks
):
    submission = submit(action, ann)
    submission_return(submission=submission, by=owner, reason="More detail")
    client.force_login(ann)
    assert "To answer (1)" in client.get(reverse("priorities:plan")).content.decode()
    submit(action, ann, note="More detail: the meeting was on 3 May")
    assert "To answer" not in client.get(reverse("priorities:plan")).content.decode()


def test_notifications_are_listed_for_staff_on_the_action_page_not_for_partners(client, action, ann, owner):
    submit(action, ann)
    client.force_login(owner)
    assert 'id="action-notifications"' in client.get(action.get_absolute_url()).content.decode()
    client.force_login(ann)
    assert "action-notifications" not in client.get(action.get_absolute_url()).content.decode()


def test_the_admin_shows_notifications_without_their_links_and_sends_failed_ones_again(
    client, action, ann, django_capture_on_commit_callbacks
):
    submit(action, ann)
    row = Notification.objects.get()
    Notification.objects.filter(pk=row.pk).update(state="failed", attempts=5, last_error="550")
    admin_user = SecretariatFactory(is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    html = client.get(reverse("admin:messaging_notification_change", args=[row.pk])).content.decode()
    assert "owner@example.org" in html and "/reviews/#submission-" not in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:messaging_notification_changelist"),
            {"action": "retry_failed", "_selected_action": [row.pk]},
        )
    row.refresh_from_db()
    assert row.state == "sent" and len(mail.outbox) == 1
