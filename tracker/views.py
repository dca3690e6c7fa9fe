import logging
import secrets
import sys

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import SetPasswordForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST
from django.views.defaults import server_error as default_server_error

from .celery import app
from .middleware import outage_errors, unavailable_response
from .models import Organisation, User
from .permissions import SECRETARIAT, STAFF, role_required
from .services import (
    InvitationInvalid,
    invitation_accept,
    invitation_from_token,
    partner_resend_invitation,
    user_deactivate,
)

logger = logging.getLogger(__name__)


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        logger.exception("Health check: the database did not answer")
        return False


HEALTH_CACHE_KEY = "healthz:probe"


def _cache_ok():
    """The cache stores and returns a value (with CACHE_URL, Redis answers)."""
    try:
        probe = secrets.token_hex(8)
        cache.set(HEALTH_CACHE_KEY, probe, 10)
        return cache.get(HEALTH_CACHE_KEY) == probe
    except Exception:
        logger.exception("Health check: the cache did not answer")
        return False


def _broker_ok():
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.exception("Health check: the Celery broker did not answer")
        return False


@never_cache
@require_GET
def healthz(request):
    """200 when the database, the cache and the broker answer, 503 naming what is down.

    Unauthenticated and cheap (one query, one cache write and read, one broker connection); it says only
    "ok" or "down" for each, never an address or an error message.
    """
    checks = {
        "database": "ok" if _database_ok() else "down",
        "cache": "ok" if _cache_ok() else "down",
        "broker": "ok" if _broker_ok() else "down",
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)


def csrf_failure(request, reason=""):
    """A refused form (missing or stale CSRF token) gets a page that says what to do, not a bare 403."""
    return render(request, "403_csrf.html", status=403)


# --- organisations and their people -------------------------------------------------------------


@require_GET
@role_required(*STAFF)
def organisation_list(request):
    organisations = Organisation.objects.annotate(
        action_count=Count("partnerships", distinct=True),
        people_count=Count("users", filter=Q(users__is_active=True), distinct=True),
    )
    return render(request, "tracker/organisation_list.html", {"organisations": organisations})


def _organisation_user(slug, user_id):
    return get_object_or_404(User, pk=user_id, organisation__slug=slug, role=User.Role.PARTNER)


@require_POST
@role_required(SECRETARIAT)
def user_resend_invitation(request, slug, user_id):
    user = _organisation_user(slug, user_id)
    try:
        partner_resend_invitation(user=user, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"A new invitation was sent to {user.email}; earlier links no longer work.")
    return redirect(user.organisation)


@require_POST
@role_required(SECRETARIAT)
def user_deactivate_view(request, slug, user_id):
    user = _organisation_user(slug, user_id)
    try:
        user_deactivate(user=user, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{user} is deactivated and signed out everywhere.")
    return redirect(user.organisation)


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
def accept_invitation(request, token):
    """The one-time link from an invitation email: choose a password, then you are signed in."""
    try:
        invitation = invitation_from_token(token)
    except InvitationInvalid as error:
        return render(request, "tracker/invitation_invalid.html", {"reason": str(error)}, status=404)
    form = SetPasswordForm(invitation.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, password=form.cleaned_data["new_password1"])
        except InvitationInvalid as error:
            return render(request, "tracker/invitation_invalid.html", {"reason": str(error)}, status=404)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Your password is set. Welcome to Plan Tracker.")
        return redirect("home")
    return render(
        request,
        "tracker/accept_invitation.html",
        {"form": form, "invitation": invitation},
        status=400 if request.method == "POST" else 200,
    )


def server_error(request):
    """The 500 handler; an outage that surfaced in a middleware (loading the session, say) is a 503 too.

    DatabaseUnavailableMiddleware answers for outages in views; errors raised by other middleware never
    reach its process_exception, but they do reach this handler, with the exception still current.
    """
    if isinstance(sys.exc_info()[1], outage_errors()):
        return unavailable_response()
    return default_server_error(request)
