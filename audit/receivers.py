"""The audit app listens: to tracker.access (downloads, reports, a person's data, the admin), to Django's
sign-in signal (sign-in as each role) and to the security log (tracker.security)."""

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest

from tracker.access import Kind, access_recorded
from tracker.models import User
from tracker.security import client_address, security_logged

from .services import access_event_record, security_event_record


def _on_access(
    sender: object,
    request: HttpRequest,
    kind: str,
    what: str,
    rows: int | None = None,
    complete: bool = True,
    subject: User | None = None,
    **kwargs: Any,
) -> None:
    access_event_record(
        user=getattr(request, "user", None),
        kind=kind,
        what=what,
        path=request.get_full_path() if request is not None else "",
        client=client_address(request),
        rows=rows,
        complete=complete,
        subject=subject,
    )


def _on_sign_in(sender: object, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    access_event_record(
        user=user,
        kind=Kind.SIGN_IN,
        what=f"Signed in as {user.get_role_display().lower()}",
        path=request.get_full_path() if request is not None and hasattr(request, "path") else "",
        client=client_address(request),
    )


def _on_security_line(
    sender: object, level: int, message: str, person: User | None = None, username: str | None = None, **kwargs: Any
) -> None:
    security_event_record(level=level, message=message, person=person, username=username or "")


def connect() -> None:
    access_recorded.connect(_on_access, dispatch_uid="audit.access")
    user_logged_in.connect(_on_sign_in, dispatch_uid="audit.sign_in")
    security_logged.connect(_on_security_line, dispatch_uid="audit.security_line")
