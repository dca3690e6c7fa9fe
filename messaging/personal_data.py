"""Messaging's part of a person's data (tracker.personal_data): what they were sent, and their email choices.

Anonymising removes the emails not yet sent to them, readdresses the outbox's rows to "Former user N"'s
address, renames them in the notifications' texts, and voids their report links.
"""

from collections.abc import Iterator
from typing import Any

from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat

from priorities.models import PlanChoice
from tracker.models import User
from tracker.personal_data import Pseudonym, register_anonymiser, register_export

from .models import Notification, NotificationPreference, Reminder, ReportLink

UNSENT = (Reminder.State.PENDING,)
Row = dict[str, Any]


def _address(person: User) -> str:
    return (person.email or "").strip().lower()


def _sent_to(person: User) -> Q:
    """Outbox rows addressed to them: by account, or by their address (an organisation's contact email)."""
    address = _address(person)
    return Q(recipient_user=person) | (Q(recipient_email__iexact=address) if address else Q(pk__in=[]))


def _reminders(person: User) -> Iterator[Row]:
    reminders = Reminder.objects.filter(_sent_to(person) | Q(requested_by=person)).select_related("action")
    for reminder in reminders.order_by("created_at", "pk"):
        yield {
            "their_part": "asked for it" if reminder.requested_by_id == person.pk else "sent to them",
            "kind": reminder.get_kind_display(),
            "action": reminder.action.code,
            "due": reminder.cycle,
            "to": reminder.recipient_email,
            "state": reminder.get_state_display(),
            "written_at": reminder.created_at,
            "sent_at": reminder.sent_at,
            "message_id": reminder.message_id,
        }


def _notifications(person: User) -> Iterator[Row]:
    notifications = Notification.objects.filter(_sent_to(person)).select_related("action")
    for notification in notifications.order_by("created_at", "pk"):
        yield {
            "kind": notification.get_kind_display(),
            "delivery": notification.get_delivery_display(),
            "to": notification.recipient_email,
            "subject": notification.subject,
            "text": notification.text,
            "link": notification.link_url,
            "action": notification.action.code if notification.action is not None else "",
            "state": notification.get_state_display(),
            "written_at": notification.created_at,
            "sent_at": notification.sent_at,
            "message_id": notification.message_id,
        }


def _report_links(person: User) -> Iterator[Row]:
    links = ReportLink.objects.filter(recipient_user=person).select_related("action", "organisation")
    for link in links.order_by("created_at", "pk"):
        yield {
            "action": link.action.code,
            "to": link.recipient_email,
            "organisation": link.organisation.name,
            "origin": link.get_origin_display(),
            "made_at": link.created_at,
            "expires_at": link.expires_at,
            "used_at": link.used_at,
        }


def _choices(person: User) -> Iterator[Row]:
    # One part, as before messaging was an app of its own: their email choices, then the plan they last
    # chose (priorities' PlanChoice, read from here, the layer above).
    for preference in NotificationPreference.objects.filter(user=person).order_by("kind"):
        yield {"choice": preference.get_kind_display(), "value": preference.get_delivery_display(), "since": None}
    choice = PlanChoice.objects.filter(user=person).select_related("plan").first()
    if choice is not None:
        yield {"choice": "The plan they last chose", "value": choice.plan.title, "since": choice.chosen_at}


def _anonymise(person: User, pseudonym: Pseudonym) -> dict[str, int]:
    """Emails not yet sent to them removed; the outbox and report links name "Former user N"."""
    address = _address(person)
    changed = {
        "reminders not yet sent removed": Reminder.objects.filter(_sent_to(person), state__in=UNSENT).delete()[0],
        "notifications not yet sent removed": Notification.objects.filter(
            _sent_to(person), state=Notification.State.PENDING
        ).delete()[0],
    }
    readdressed = 0
    if address:
        readdressed += Reminder.objects.filter(recipient_email__iexact=address).update(
            recipient_email=pseudonym.address
        )
        readdressed += Notification.objects.filter(recipient_email__iexact=address).update(
            recipient_email=pseudonym.address
        )
    changed["outbox rows readdressed"] = readdressed
    changed["outbox texts renamed"] = pseudonym.replace_in(
        Notification.objects.all(), "key", "subject", "text", "link_url", "last_error"
    ) + pseudonym.replace_in(Reminder.objects.all(), "last_error")
    # A link is a way in: whatever its state, it stops working; the row (and a report made through it) stays.
    changed["report links voided"] = ReportLink.objects.filter(recipient_user=person).update(
        recipient_email=pseudonym.address, nonce=Concat(Value("anonymised:"), Cast("pk", CharField()))
    )
    return changed


def register() -> None:
    """Messaging's parts (called from MessagingConfig.ready())."""
    register_export(
        name="reminders",
        title="Reminders sent to them or asked for by them",
        models=["messaging.Reminder"],
        rows=_reminders,
    )
    register_export(
        name="notifications",
        title="Notifications sent to them",
        models=["messaging.Notification"],
        rows=_notifications,
    )
    register_export(
        name="report_links",
        title="Links to report progress sent to them",
        models=["messaging.ReportLink"],
        rows=_report_links,
    )
    register_export(
        name="choices",
        title="Their email choices and the plan they last chose",
        models=["messaging.NotificationPreference", "priorities.PlanChoice"],
        rows=_choices,
    )
    register_anonymiser(
        name="the outbox and report links",
        models=["messaging.Reminder", "messaging.Notification", "messaging.ReportLink"],
        anonymise=_anonymise,
    )
