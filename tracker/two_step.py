"""Who must use two-step sign-in, and the middleware that sends them to enrol or verify before anything else."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from tracker.models import User

# Pages a person may reach while their second step is missing or not yet verified.
OPEN_URL_NAMES = ("two-step-setup", "two-step-verify", "logout", "login", "healthz")


def required_by_role(user: User) -> bool:
    return user.role in settings.TWO_STEP_ROLES


def two_step_required(user: User) -> bool:
    """True when this person must use an authenticator app: by role, or by their organisation (partners)."""
    if required_by_role(user):
        return True
    # user.organisation is the object partner pages use anyway, so this adds no query to them.
    return user.role == user.Role.PARTNER and user.organisation is not None and user.organisation.two_step_required


class TwoStepMiddleware:
    """A signed-in person who must use a second step has verified one in this session, or goes to set one up.

    Runs after django-otp's OTPMiddleware (request.user.is_verified()). People who chose a second step
    themselves verify it at sign-in (tracker.account_views.SignInView), so only the requirement is enforced here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self._open_paths: set[str] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # The public pages never read the session (tracker.security.SessionLifetimeMiddleware says why).
        if request.path_info.startswith(settings.SESSIONLESS_PATH_PREFIXES):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not user.is_verified():
            if self._open_paths is None:
                self._open_paths = {reverse(name) for name in OPEN_URL_NAMES}
            if request.path not in self._open_paths and two_step_required(user):
                # Enrolled elsewhere since this session began: verify here too.
                return redirect("two-step-verify" if user_has_device(user) else "two-step-setup")
        return self.get_response(request)
