"""Writes to the access and security logs: rows are added, never changed (retention and anonymising aside)."""

import logging

from tracker.access import Kind
from tracker.models import User

from .models import AccessEvent, SecurityEvent

WHAT_MAX = AccessEvent._meta.get_field("what").max_length
PATH_MAX = AccessEvent._meta.get_field("path").max_length
CLIENT_MAX = AccessEvent._meta.get_field("client").max_length


def _clip(text, limit):
    text = str(text or "")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# One INSERT each: atomic by itself, so no transaction of its own (a download's page keeps its query count low).
def access_event_record(*, user, kind, what, path="", client="", rows=None, complete=True, subject=None, at=None):
    """Add one row to the access log; `user` None for someone not signed in."""
    if kind not in Kind.values:
        raise ValueError(f"Not a kind of access: {kind!r}")
    signed_in = user is not None and user.is_authenticated
    event = AccessEvent(
        user=user if signed_in else None,
        role=user.role if signed_in else "",
        organisation_id=user.organisation_id if signed_in else None,
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


def security_event_record(*, level, message, person=None, username=""):
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
