import logging
import sys

from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth import login
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django.views.defaults import server_error as default_server_error

from .forms import NewPasswordForm
from .middleware import outage_errors, unavailable_response
from .models import Organisation, User
from .permissions import SECRETARIAT, role_required
from .security import client_address
from .services import (
    InvitationInvalid,
    invitation_accept,
    invitation_from_token,
    partner_resend_invitation,
    user_deactivate,
    user_reactivate,
)

logger = logging.getLogger(__name__)


def csrf_failure(request, reason=""):
    """A refused form (missing or stale CSRF token) gets a page that says what to do, not a bare 403."""
    return render(request, "403_csrf.html", status=403)


# --- organisations and their people -------------------------------------------------------------


def _organisation_user(slug, user_id):
    return get_object_or_404(
        User.objects.select_related("organisation"), pk=user_id, organisation__slug=slug, role=User.Role.PARTNER
    )


ACCOUNT_HISTORY_ROWS = 20


def _account_history(person):
    """The latest changes to a person's account: deactivations and reactivations, and edits in the admin."""
    return (
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(person.pk))
        .select_related("user")
        .order_by("-action_time", "-pk")[:ACCOUNT_HISTORY_ROWS]
    )


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


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def user_deactivate_view(request, slug, user_id):
    """GET: what deactivating this person does, to confirm; POST: deactivate them (they can be reactivated)."""
    person = _organisation_user(slug, user_id)
    if request.method == "POST":
        try:
            user_deactivate(user=person, by=request.user, client=client_address(request))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"{person} is deactivated and signed out everywhere; you can reactivate them below."
            )
        return redirect(person.organisation)
    organisation = person.organisation
    others = organisation.users.filter(role=User.Role.PARTNER, is_active=True).exclude(pk=person.pk).count()
    context = {
        "person": person,
        "organisation": organisation,
        "others_active": others,
        "invited": person.is_active and not person.has_usable_password(),
        "history": _account_history(person),
    }
    return render(request, "tracker/user_deactivate.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def user_reactivate_view(request, slug, user_id):
    """GET: what reactivating this person does, to confirm; POST: reactivate them (and move them, from an invitation).

    `to` names another organisation when the secretariat invited this deactivated person's address from
    there: reactivating then moves them, so they never see their former organisation's actions again.
    """
    person = _organisation_user(slug, user_id)
    source = request.POST if request.method == "POST" else request.GET
    destination = person.organisation
    if source.get("to") and source["to"] != slug:
        destination = get_object_or_404(Organisation, slug=source["to"])
    if request.method == "POST":
        try:
            user_reactivate(user=person, by=request.user, client=client_address(request), organisation=destination)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(person.organisation)
        else:
            if person.has_usable_password():
                told = "They can sign in again with their password; we have emailed them to say so."
            else:
                told = "They had not set a password yet, so we have emailed them a new invitation link."
            messages.success(request, f"{person} is active again at {destination.display_name}. {told}")
        return redirect(destination)
    context = {
        "person": person,
        "organisation": person.organisation,
        "destination": destination,
        "moving": destination != person.organisation,
        "history": _account_history(person),
    }
    return render(request, "tracker/user_reactivate.html", context)


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
def accept_invitation(request, token):
    """The one-time link from an invitation email: choose a password, then you are signed in."""
    try:
        invitation = invitation_from_token(token)
    except InvitationInvalid as error:
        return render(request, "tracker/invitation_invalid.html", {"reason": str(error)}, status=404)
    form = NewPasswordForm(invitation.user, request.POST or None)
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
