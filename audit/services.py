"""Writes to the access and security logs: rows are added, never changed (retention and anonymising aside)."""

import datetime
import logging
from typing import Any

from django.contrib.auth.models import AnonymousUser

from tracker.access import Kind
from tracker.models import User

from .models import AccessEvent, SecurityEvent

WHAT_MAX = AccessEvent._meta.get_field("what").max_length
PATH_MAX = AccessEvent._meta.get_field("path").max_length
CLIENT_MAX = AccessEvent._meta.get_field("client").max_length


def _clip(text: Any, limit: int | None) -> str:
    text = str(text or "")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


# One INSERT each: atomic by itself, so no transaction of its own (a download's page keeps its query count low).
def access_event_record(
    *,
    user: User | AnonymousUser | None,
    kind: str,
    what: str,
    path: str = "",
    client: str = "",
    rows: int | None = None,
    complete: bool = True,
    subject: User | None = None,
    at: datetime.datetime | None = None,
) -> AccessEvent:
    """Add one row to the access log; `user` None for someone not signed in."""
    if kind not in Kind.values:
        raise ValueError(f"Not a kind of access: {kind!r}")
    member = user if isinstance(user, User) and user.is_authenticated else None
    event = AccessEvent(
        user=member,
        role=member.role if member is not None else "",
        organisation_id=member.organisation_id if member is not None else None,
        kind=kind,
        what=_clip(what, WHAT_MAX),
        path=_clip(path, PATH_MAX),
        client=_clip(client, CLIENT_MAX),
        rows=rows,
        complete=complete,
        subject=subject,
    )
    if at is not None:
        event.at = at
    event.save()
    return event


def security_event_record(*, level: int, message: str, person: User | None = None, username: str = "") -> SecurityEvent:
    """Keep one line of the security log; a failure's username is linked to its account when there is one."""
    username = (username or "")[:255]
    if person is None and username:
        person = User.objects.filter(username=username).first()
    return SecurityEvent.objects.create(
        level=SecurityEvent.Level.WARNING if level >= logging.WARNING else SecurityEvent.Level.INFO,
        message=message,
        person=person if person is not None and person.pk else None,
        username=username,
    )
