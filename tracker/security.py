"""Session lifetime and the security log: sign-ins, failures, lock-outs and refused requests."""

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from axes.helpers import get_client_ip_address
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.dispatch import Signal, receiver
from django.http import HttpRequest, HttpResponseBase

if TYPE_CHECKING:
    # For annotations only: this module imports no models at run time (django-axes and the middleware load it).
    from tracker.models import User

# Sent for every line of the security log with: level, message (the line as logged), person (the User it is
# about, when known) and username (as typed, for sign-in failures). The audit app keeps them in the database.
security_logged = Signal()


class SecurityLog:
    """The security log: each line goes to the "tracker.security" logger and, as `security_logged`, to its store."""

    def __init__(self, name: str = "tracker.security") -> None:
        self.logger = logging.getLogger(name)

    def log(
        self, level: int, message: str, *args: object, person: "User | None" = None, username: str | None = None
    ) -> None:
        self.logger.log(level, message, *args, stacklevel=3)
        security_logged.send(
            sender=SecurityLog,
            level=level,
            message=message % args if args else message,
            person=person,
            username=username if username is not None else getattr(person, "username", None),
        )

    def info(self, message: str, *args: object, person: "User | None" = None, username: str | None = None) -> None:
        self.log(logging.INFO, message, *args, person=person, username=username)

    def warning(self, message: str, *args: object, person: "User | None" = None, username: str | None = None) -> None:
        self.log(logging.WARNING, message, *args, person=person, username=username)


logger = SecurityLog()
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
# How stale the "last seen" mark may get before it is written again.
LAST_SEEN_RESOLUTION = 60


USERNAME_MAX_LENGTH = 255  # django-axes' columns; PostgreSQL refused a longer one with a 500
LOGGED_MAX_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def loggable(value: object) -> str:
    """A user-supplied value safe to put in one log line: control characters (CR, LF ...) escaped, length capped.

    A username with a newline otherwise wrote a forged line into the security log.
    """
    text = _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))
    return text if len(text) <= LOGGED_MAX_LENGTH else text[:LOGGED_MAX_LENGTH] + "…"


def client_address(request: HttpRequest | None) -> str:
    """The client's address as django-axes sees it (through the trusted proxy hops when configured)."""
    if request is None:
        return "unknown"
    return loggable(get_client_ip_address(request) or "unknown")


def axes_username(request: HttpRequest, credentials: Mapping[str, Any] | None) -> str | None:
    """The username django-axes records, cut to the length of its columns (AXES_USERNAME_CALLABLE)."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "POST", {}).get("username")
    return None if username is None else str(username)[:USERNAME_MAX_LENGTH]


def _person(request: HttpRequest) -> Any:
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _who(user: object) -> str:
    return loggable(getattr(user, "username", None) or "anonymous")


@receiver(user_logged_in)
def _record_sign_in(sender: object, request: HttpRequest | None, user: "User", **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN] = now
    logger.info("sign-in: user=%s from=%s", _who(user), client_address(request), person=user)


@receiver(user_logged_out)
def _record_sign_out(sender: object, request: HttpRequest | None, user: "User | None", **kwargs: Any) -> None:
    logger.info("sign-out: user=%s from=%s", _who(user), client_address(request), person=user)


@receiver(user_login_failed)
def _record_failure(
    sender: object, credentials: Mapping[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    logger.warning(
        "sign-in failed: user=%s from=%s",
        loggable(credentials.get("username", "?")),
        client_address(request),
        username=str(credentials.get("username", ""))[:USERNAME_MAX_LENGTH],
    )


@receiver(user_locked_out)
def _record_lockout(
    sender: object,
    request: HttpRequest | None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    logger.warning(
        "locked out: user=%s from=%s",
        loggable(username or "?"),
        loggable(ip_address or client_address(request)),
        username=str(username or "")[:USERNAME_MAX_LENGTH],
    )


class SessionLifetimeMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT without a request, or SESSION_ABSOLUTE_LIFETIME after sign-in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # Public pages never read the session (reading it would add Vary: Cookie and defeat shared caches).
        if request.path_info.startswith(settings.SESSIONLESS_PATH_PREFIXES):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            session = request.session
            signed_in_at = session.setdefault(SIGNED_IN_AT, now)
            last_seen = session.setdefault(LAST_SEEN, now)
            if (
                now - last_seen > settings.SESSION_IDLE_TIMEOUT
                or now - signed_in_at > settings.SESSION_ABSOLUTE_LIFETIME
            ):
                logger.info("session expired: user=%s from=%s", _who(user), client_address(request), person=user)
                logout(request)
                return redirect_to_login(request.get_full_path())
            if now - last_seen > LAST_SEEN_RESOLUTION:
                session[LAST_SEEN] = now
        return self.get_response(request)


class RefusalLogMiddleware:
    """Logs every 403 with who asked, for what, and from where."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code == 403:
            logger.warning(
                "refused: user=%s from=%s %s %s",
                _who(getattr(request, "user", None)),
                client_address(request),
                loggable(request.method),
                loggable(request.path),
                person=_person(request),
            )
        return response
