"""A person with every kind of record Plan Tracker keeps about someone, made as the product makes them."""

import datetime
import itertools

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from indicators.services import measurement_submission_create
from messaging.models import Notification, NotificationPreference, Reminder
from priorities.models import Status
from priorities.services import plan_choice_remember, submission_accept, submission_create, submission_return
from privacy.services import retention_hold_release, retention_hold_set
from tests.factories import report_link_for
from tracker.models import User
from tracker.services import partner_invite

PASSWORD = "correct horse battery"
_years = itertools.count(2001)


def person_with_history(*, organisation, action, measure, secretariat, first_name, last_name, email, address):
    """A partner user who signed in, downloaded, reported and was written to: (person, their signed-in client).

    `action` is one their organisation partners and `measure` one it reports. The client is signed in.
    """
    person = partner_invite(
        email=email, organisation=organisation, first_name=first_name, last_name=last_name, by=secretariat
    ).user
    person.set_password(PASSWORD)
    person.save(update_fields=["password"])
    # A failed sign-in (django-axes counts it, the security log keeps it), from elsewhere than the right one.
    Client(REMOTE_ADDR="192.0.2.250").post(reverse("login"), {"username": person.username, "password": "wrong"})
    client = Client(REMOTE_ADDR=address)
    assert client.post(reverse("login"), {"username": person.username, "password": PASSWORD}).status_code == 302
    b"".join(client.get(reverse("priorities:action-export-csv")).streaming_content)
    TOTPDevice.objects.create(user=person, name="Authenticator app", confirmed=True)
    recovery = StaticDevice.objects.create(user=person, name="Recovery codes", confirmed=True)
    StaticToken.objects.create(device=recovery, token="abcd2345")
    accepted = submission_create(action=action, by=person, status=Status.ON_TRACK, note="Met the agency twice.")
    submission_accept(submission=accepted, by=secretariat)
    returned = submission_create(action=action, by=person, status=Status.AT_RISK, note="Funding is late.")
    submission_return(submission=returned, by=secretariat, reason="Which funding?")
    year = next(_years)
    measurement_submission_create(
        measure=measure,
        by=person,
        period_start=datetime.date(year, 1, 1),
        period_end=datetime.date(year, 12, 31),
        value=4,
        note="From the case system.",
    )
    report_link_for(action=action, user=person)
    today = timezone.localdate()
    for kind, state in ((Reminder.Kind.DUE_SOON, Reminder.State.SENT), (Reminder.Kind.OVERDUE, Reminder.State.PENDING)):
        Reminder.objects.create(
            recipient_email=person.email,
            recipient_user=person,
            organisation=organisation,
            action=action,
            kind=kind,
            cycle=today,
            state=state,
            sent_at=timezone.now() if state == Reminder.State.SENT else None,
            message_id=f"<reminder-{person.pk}-{kind}@plan-tracker>",
        )
    NotificationPreference.objects.create(
        user=person, kind=Notification.Kind.DECIDED, delivery=Notification.Delivery.DIGEST
    )
    plan_choice_remember(user=person, plan=action.objective.priority.plan)
    LogEntry.objects.create(
        user=secretariat,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(person.pk),
        object_repr=str(person),
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Email address"]}}]',
    )
    retention_hold_set(person=person, reason="A complaint, answered in March.", by=secretariat)
    retention_hold_release(person=person, by=secretariat)
    return User.objects.get(pk=person.pk), client
