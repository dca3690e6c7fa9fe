"""An organisation's page: its people (tracker) with the actions it partners and its reminders (the plan)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from tracker.forms import InviteForm, apply_errors
from tracker.models import Invitation, Organisation
from tracker.paging import page_of
from tracker.permissions import SECRETARIAT, STAFF, role_required
from tracker.services import AccountDeactivated, partner_invite

from ..models import ActionPartner, Reminder


@require_GET
@role_required(*STAFF)
def organisation_detail(request, slug):
    return _render_organisation(request, slug)


def _render_organisation(request, slug, invite_form=None, status=200):
    """An organisation's people, its actions and when each was last reported on."""
    organisation = get_object_or_404(Organisation, slug=slug)
    people = (
        organisation.users.prefetch_related(
            Prefetch("invitations", queryset=Invitation.objects.filter(accepted_at__isnull=True))
        )
        .annotate(has_two_step=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .order_by("-is_active", "last_name", "first_name")
    )
    partnerships = (
        ActionPartner.objects.filter(organisation=organisation)
        .live()
        .select_related("action__last_update__author")
        .with_reporting()
        .order_by("action__sort_key", "pk")
    )
    # 50 a page: the busiest organisation partners thousands of actions (issue 18).
    page = page_of(request, partnerships)
    context = {
        "organisation": organisation,
        "organisation_reminders": Reminder.objects.for_organisation(organisation)[:50],
        "people": people,
        "partnerships": page.object_list,
        "page": page,
        "invite_form": invite_form or InviteForm(),
        "can_manage": request.user.role == SECRETARIAT,
    }
    return render(request, "tracker/organisation_detail.html", context, status=status)


@require_POST
@role_required(SECRETARIAT)
def organisation_invite(request, slug):
    organisation = get_object_or_404(Organisation, slug=slug)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = partner_invite(organisation=organisation, by=request.user, **form.cleaned_data)
        except AccountDeactivated as error:
            # Offer what can be done: reactivating the account (moving it here if it was elsewhere).
            messages.info(request, f"{error.user.email} already has an account, which is deactivated: reactivate it.")
            url = reverse("user-reactivate", args=[error.user.organisation.slug, error.user.pk])
            return redirect(f"{url}?{urlencode({'to': organisation.slug})}")
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.user.email}. The link works for 7 days.")
            return redirect(organisation)
    return _render_organisation(request, slug, invite_form=form, status=400)
