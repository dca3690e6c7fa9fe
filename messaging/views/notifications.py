"""Notification choices, and reporting on one action from a reminder's link without signing in."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from priorities.forms import SubmissionForm
from tracker.forms import apply_errors
from tracker.permissions import AuthenticatedHttpRequest

from ..forms import NotificationChoicesForm
from ..models import Notification
from ..notifications import CHOOSABLE, notification_choices, notification_choices_set
from ..report_links import (
    LinkInvalid,
    LinkUnusable,
    RenewRefused,
    link_from_token,
    report_link_from_token,
    report_link_renew,
    report_link_submit,
)

logger = logging.getLogger("tracker.security")


@login_required
@require_http_methods(["GET", "POST"])
def notification_choices_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Each signed-in person chooses, per kind, "as it happens" (the default) or "in a daily digest"."""
    current = notification_choices(request.user)
    form = NotificationChoicesForm(
        request.POST or None, initial=current, kinds=CHOOSABLE, deliveries=Notification.Delivery.choices
    )
    if request.method == "POST":
        if form.is_valid():
            notification_choices_set(user=request.user, choices=form.cleaned_data)
            messages.success(request, "Your email choices are saved.")
            return redirect("messaging:notification-choices")
        return render(request, "messaging/notification_choices.html", {"form": form}, status=400)
    return render(request, "messaging/notification_choices.html", {"form": form})


def _unusable(request: HttpRequest, error: Exception, status: int) -> HttpResponse:
    link = getattr(error, "link", None)
    match = request.resolver_match
    context = {"reason": str(error), "token": match.kwargs["token"] if link and match else None}
    context["renewable"] = getattr(error, "renewable", False)
    return render(request, "messaging/report_link_invalid.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def report_link_view(request: HttpRequest, token: str) -> HttpResponse:
    """A reminder's link: report on its one action, once, without signing in; shows nothing beyond that action."""
    try:
        link = report_link_from_token(token)
    except LinkInvalid as error:
        return _unusable(request, error, 404)
    except LinkUnusable as error:
        return _unusable(request, error, 410)
    action = link.action
    form = SubmissionForm(request.POST or None, action=action)
    if request.method == "POST":
        if form.is_valid():
            try:
                submission = report_link_submit(
                    token=token,
                    status=form.cleaned_data["status"],
                    note=form.cleaned_data["note"],
                    evidence_url=form.cleaned_data["evidence_url"],
                )
            except LinkUnusable as error:
                return _unusable(request, error, 410)
            except PermissionDenied as error:
                return _unusable(request, LinkUnusable(str(error), link, renewable=False), 410)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                return render(request, "messaging/report_link_done.html", {"action": action, "submission": submission})
        return render(request, "messaging/report_link.html", {"action": action, "form": form}, status=400)
    return render(request, "messaging/report_link.html", {"action": action, "form": form})


@never_cache
@require_POST
def report_link_renew_view(request: HttpRequest, token: str) -> HttpResponse:
    """ "Send me a new link": emails a fresh link to the address the old one went to (rate-limited)."""
    try:
        link = link_from_token(token)
        report_link_renew(token=token)
    except LinkInvalid as error:
        return _unusable(request, error, 404)
    except RenewRefused as error:
        logger.info("Report link renewal refused for link %s: %s", link.pk, error)
        return render(request, "messaging/report_link_renewed.html", {"refused": str(error)}, status=429)
    return render(request, "messaging/report_link_renewed.html", {"address": _masked(link.recipient_email)})


def _masked(email: str) -> str:
    """j***@example.org: enough to recognise one's own address, not to learn someone else's."""
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"
