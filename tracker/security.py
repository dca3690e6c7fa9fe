"""Session lifetime and the security log: sign-ins, failures, lock-outs and refused requests."""

import logging
import time

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver

logger = logging.getLogger("tracker.security")
SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
# How stale the "last seen" mark may get before it is written again.
LAST_SEEN_RESOLUTION = 60


def client_address(request):
    if request is None:
        return "unknown"
    return request.META.get("REMOTE_ADDR", "unknown")


def _who(user):
    return getattr(user, "username", None) or "anonymous"


@receiver(user_logged_in)
def _record_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN] = now
    logger.info("sign-in: user=%s from=%s", _who(user), client_address(request))


@receiver(user_logged_out)
def _record_sign_out(sender, request, user, **kwargs):
    logger.info("sign-out: user=%s from=%s", _who(user), client_address(request))


@receiver(user_login_failed)
def _record_failure(sender, credentials, request=None, **kwargs):
    logger.warning("sign-in failed: user=%s from=%s", credentials.get("username", "?"), client_address(request))


@receiver(user_locked_out)
def _record_lockout(sender, request, username=None, ip_address=None, **kwargs):
    logger.warning("locked out: user=%s from=%s", username or "?", ip_address or client_address(request))


class SessionLifetimeMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT without a request, or SESSION_ABSOLUTE_LIFETIME after sign-in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
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
                logger.info("session expired: user=%s from=%s", _who(user), client_address(request))
                logout(request)
                return redirect_to_login(request.get_full_path())
            if now - last_seen > LAST_SEEN_RESOLUTION:
                session[LAST_SEEN] = now
        return self.get_response(request)


class RefusalLogMiddleware:
    """Logs every 403 with who asked, for what, and from where."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            logger.warning(
                "refused: user=%s from=%s %s %s",
                _who(getattr(request, "user", None)),
                client_address(request),
                request.method,
                request.path,
            )
        return response
