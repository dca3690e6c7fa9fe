"""The audit app's part of a person's data: what they accessed, whose data was downloaded, their security log."""

import re
from collections.abc import Iterator
from typing import Any

from django.db.models import Q, QuerySet

from tracker.models import User
from tracker.personal_data import Pseudonym, display_name, register_anonymiser, register_export

from .models import AccessEvent, SecurityEvent


def _access_rows(person: User) -> Iterator[dict[str, Any]]:
    events = AccessEvent.objects.filter(Q(user=person) | Q(subject=person)).select_related("user", "subject")
    for event in events.order_by("at", "pk"):
        yield {
            "their_part": "accessed" if event.user_id == person.pk else "their data was downloaded",
            "at": event.at,
            "who": display_name(event.user) if event.user else "",
            "kind": event.get_kind_display(),
            "what": event.what,
            "address": event.path,
            "from_address": event.client,
            "rows": event.rows,
            "complete": event.complete,
        }


def _security_events(person: User) -> QuerySet[SecurityEvent]:
    about = Q(person=person) | Q(username=person.username)
    if person.email:
        # Password-reset requests name an address, not an account (the request never looks the account up).
        about |= Q(message__icontains=f"email={person.email.strip().lower()} ")
    return SecurityEvent.objects.filter(about)


def _security_rows(person: User) -> Iterator[dict[str, Any]]:
    for event in _security_events(person).order_by("at", "pk"):
        yield {"at": event.at, "level": event.get_level_display(), "line": event.message}


def _anonymise(person: User, pseudonym: Pseudonym) -> dict[str, int]:
    """Their username in the security log's "user=" and "by=" slots, their name and address in recorded addresses."""
    slots = re.compile(r"\b(user|by)=" + re.escape(person.username) + r"(?=\s|$)")
    renamed = []
    for event in _security_events(person).only("pk", "message", "username").iterator():
        event.message = pseudonym.replace(slots.sub(lambda match: f"{match[1]}={pseudonym.username}", event.message))
        if event.username == person.username:
            event.username = pseudonym.username
        renamed.append(event)
    SecurityEvent.objects.bulk_update(renamed, ["message", "username"], batch_size=500)
    # Lines by someone else that name them as who acted (a two-step reset they made, say).
    by_them = SecurityEvent.objects.filter(message__contains=f"by={person.username}").exclude(
        pk__in=[event.pk for event in renamed]
    )
    changed = []
    for event in by_them.only("pk", "message").iterator():
        new = slots.sub(lambda match: f"{match[1]}={pseudonym.username}", event.message)
        if new != event.message:
            event.message = new
            changed.append(event)
    SecurityEvent.objects.bulk_update(changed, ["message"], batch_size=500)
    return {
        "security log lines renamed": len(renamed) + len(changed),
        "access log addresses renamed": pseudonym.replace_in(AccessEvent.objects.all(), "what", "path"),
    }


def register() -> None:
    register_export(
        name="access_log",
        title="What they downloaded or viewed as recorded in the access log, and downloads of their data",
        models=["audit.AccessEvent"],
        rows=_access_rows,
    )
    register_export(
        name="security_log",
        title="Their lines in the security log (sign-ins, failures, password and two-step changes)",
        models=["audit.SecurityEvent"],
        rows=_security_rows,
    )
    register_anonymiser(
        name="access and security logs", models=["audit.AccessEvent", "audit.SecurityEvent"], anonymise=_anonymise
    )
