"""A partner who has submitted progress is not overdue while the secretariat decides, and is not reminded."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from messaging.models import Reminder
from messaging.reminders import reminders_run_daily, reminders_send_batch, reminders_send_for_action
from priorities.models import Status, UpdateFrequency
from priorities.services import submission_create as submit
from priorities.services import submission_return
from tests.factories import ActionFactory, ActionPartnerFactory, OrganisationFactory, PartnerFactory

REGISTER = reverse("priorities:action-list")
HOME = reverse("home")
CSV = reverse("priorities:action-export-csv")
XLSX = reverse("priorities:action-export-xlsx")


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def overdue(db):
    """Action 9.2, a week overdue, partnered by A (ann) and B (bob)."""
    org_a = OrganisationFactory(name="Org A", slug="org-a")
    org_b = OrganisationFactory(name="Org B", slug="org-b")
    ann = PartnerFactory(email="ann@example.org", organisation=org_a)
    bob = PartnerFactory(email="bob@example.org", organisation=org_b)
    action = ActionFactory(code="9.2", update_frequency=UpdateFrequency.MONTHLY, status=Status.ON_TRACK)
    type(action).objects.filter(pk=action.pk).update(next_update_due=timezone.localdate() - datetime.timedelta(days=7))
    action.refresh_from_db()
    for organisation in (org_a, org_b):
        ActionPartnerFactory(action=action, organisation=organisation)
    return {"action": action, "ann": ann, "bob": bob}


def recipients():
    return sorted(message.to[0] for message in mail.outbox)


def test_no_reminder_for_an_action_whose_partner_submitted(overdue):
    submit(action=overdue["action"], by=overdue["ann"], status=Status.ON_TRACK, note="Done this month")
    reminders_run_daily(today=timezone.localdate(), send_now=True)
    assert recipients() == ["bob@example.org"]
    assert not Reminder.objects.filter(recipient_email="ann@example.org").exists()


def test_a_reminder_row_pending_when_the_submission_arrives_is_not_sent(overdue, django_capture_on_commit_callbacks):
    summary = reminders_run_daily(today=timezone.localdate())  # rows written, sending queued
    submit(action=overdue["action"], by=overdue["ann"], status=Status.ON_TRACK, note="Done this month")
    outcome = reminders_send_batch(reminder_ids=summary.queued_ids, claim_token="task-1")
    assert recipients() == ["bob@example.org"] and outcome.messages == 1
    ann_row = Reminder.objects.get(recipient_email="ann@example.org")
    assert ann_row.state == Reminder.State.SKIPPED and ann_row.sent_at is None
    # A second attempt does not send it either.
    reminders_send_batch(reminder_ids=summary.queued_ids, claim_token="task-2")
    assert recipients() == ["bob@example.org"]


def test_the_secretariats_reminder_skips_a_partner_who_submitted(overdue, secretariat):
    submit(action=overdue["action"], by=overdue["ann"], status=Status.ON_TRACK, note="Done this month")
    rows = reminders_send_for_action(action=overdue["action"], by=secretariat)
    assert {row.recipient_email for row in rows} == {"bob@example.org"}


def test_once_returned_the_partner_is_reminded_again(overdue, secretariat):
    submission = submit(action=overdue["action"], by=overdue["ann"], status=Status.ON_TRACK, note="n")
    submission_return(submission=submission, by=secretariat, reason="Please add the figures.")
    reminders_run_daily(today=timezone.localdate(), send_now=True)
    assert recipients() == ["ann@example.org", "bob@example.org"]


def overdue_cell(client, code):
    table = client.get(REGISTER).content.decode().split('id="action-register"')[1]
    row = table.split(f">{code}</a>")[1].split("</tr>")[0]
    return row


def test_the_partners_home_and_register_say_submitted_not_overdue(client, overdue):
    action = overdue["action"]
    submit(action=action, by=overdue["ann"], status=Status.ON_TRACK, note="Done this month")
    client.force_login(overdue["ann"])
    response = client.get(HOME)
    assert response.context["overdue"] == [] and response.context["awaiting_review"] == [action]
    html = response.content.decode()
    assert "Nothing is overdue." in html
    row = html.split('id="partner-actions"')[1].split(f">{action.code}</a>")[1].split("</tr>")[0]
    assert "Submitted, awaiting review" in row and "Overdue" not in row
    cell = overdue_cell(client, action.code)
    assert "Submitted, awaiting review" in cell and "Overdue" not in cell
    page = client.get(action.get_absolute_url()).content.decode().split("Next update due")[1].split("</dd>")[0]
    assert "Submitted, awaiting review" in page and "Overdue" not in page
    only_overdue = client.get(REGISTER, {"overdue": "on"}).content.decode()
    assert 'role="status">0 actions' in only_overdue

    # Org B has not reported: the same action is overdue for it.
    client.force_login(overdue["bob"])
    response = client.get(HOME)
    assert response.context["overdue"] == [action]
    assert "Overdue" in overdue_cell(client, action.code)
    assert "Submitted, awaiting review" not in overdue_cell(client, action.code)


def test_staff_see_that_progress_awaits_their_review_in_the_register(client, secretariat, overdue):
    client.force_login(secretariat)
    assert "Overdue" in overdue_cell(client, "9.2")
    submit(action=overdue["action"], by=overdue["bob"], status=Status.ON_TRACK, note="n")
    assert "Submitted, awaiting review" in overdue_cell(client, "9.2")


def _downloaded_overdue_cells(client, code):
    """The Overdue column of `code`'s row in the register's CSV and in its Excel workbook."""
    import csv
    import io

    from openpyxl import load_workbook

    rows = list(csv.reader(io.StringIO(b"".join(client.get(CSV).streaming_content).decode("utf-8-sig"))))
    column = rows[0].index("Overdue")
    [csv_row] = [row for row in rows[1:] if row[0] == code]
    response = client.get(XLSX)
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)["Actions"]
    [xlsx_row] = [row for row in sheet.iter_rows(values_only=True) if row[0] == code]
    return csv_row[column], xlsx_row[column] or ""


def test_the_downloads_say_submitted_not_overdue_as_the_register_does(client, secretariat, overdue):
    # Found by the stateful test (tests/test_stateful.py, N1): the downloads had a rule of their own.
    action = overdue["action"]
    submit(action=action, by=overdue["ann"], status=Status.ON_TRACK, note="Done this month")
    for person, expected in (
        (overdue["ann"], "Submitted, awaiting review"),  # their own report
        (overdue["bob"], "Overdue"),  # org B has not reported
        (secretariat, "Submitted, awaiting review"),  # a report awaits their review
    ):
        client.force_login(person)
        assert expected in overdue_cell(client, action.code)
        assert _downloaded_overdue_cells(client, action.code) == (expected, expected), person
