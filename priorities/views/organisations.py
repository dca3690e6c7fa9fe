"""The organisations and an organisation's page: its people (tracker) with the actions it partners in one plan
and the reminders about them (the plan).

Both show one plan at a time, as chosen with the plan switcher (plan_choice.py), and every count on
them is what its link leads to: the organisation page's count and list are the live actions of that
plan the organisation partners, which the register and its CSV select with `?plan=...&partner=...`.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from tracker.forms import InviteForm, apply_errors
from tracker.models import Invitation, Organisation
from tracker.paging import page_of
from tracker.permissions import SECRETARIAT, STAFF, role_required
from tracker.services import AccountDeactivated, partner_invite

from ..models import ActionPartner
from ..plan_choice import PLAN_PARAM, plan_switch


def _with_plan(url, switch, **query):
    """`url` with the shown plan (when there is a choice of plans) and `query` in its query string."""
    query = {PLAN_PARAM: switch.slug, **query}
    query = {name: value for name, value in query.items() if value is not None}
    return f"{url}?{urlencode(query)}" if query else url


@require_GET
@role_required(*STAFF)
def organisation_list(request):
    """Every organisation with the live actions it partners in the plan shown, and its active people."""
    switch = plan_switch(request)
    partnered = (
        ActionPartner.objects.live()
        .filter(organisation=OuterRef("pk"), action__objective__priority__plan=switch.plan)
        .order_by()
        .values("organisation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    organisations = list(
        Organisation.objects.annotate(
            action_count=Coalesce(Subquery(partnered, output_field=IntegerField()), Value(0)),
            people_count=Count("users", filter=Q(users__is_active=True), distinct=True),
        )
    )
    rows = [(organisation, _with_plan(organisation.get_absolute_url(), switch)) for organisation in organisations]
    context = {"organisations": rows, "plan": switch.plan}
    return render(request, "tracker/organisation_list.html", context)


@require_GET
@role_required(*STAFF)
def organisation_detail(request, slug):
    return _render_organisation(request, slug)


def _render_organisation(request, slug, invite_form=None, status=200):
    """An organisation's people, the actions it partners in the plan shown and when each was last reported on."""
    switch = plan_switch(request)
    plan = switch.plan
    organisation = get_object_or_404(Organisation, slug=slug)
    people = (
        organisation.users.prefetch_related(
            Prefetch("invitations", queryset=Invitation.objects.filter(accepted_at__isnull=True))
        )
        .annotate(has_two_step=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .order_by("-is_active", "last_name", "first_name")
    )
    partnerships = (
        ActionPartner.objects.filter(organisation=organisation, action__objective__priority__plan=plan)
        .live()
        .select_related("action__last_update__author")
        .with_reporting()
        .order_by("action__sort_key", "pk")
    )
    # 50 a page: the busiest organisation partners thousands of actions (issue 18).
    page = page_of(request, partnerships)
    # Messaging's rows, through the organisation's relation: the plan does not import messaging.
    reminders = organisation.reminders.for_organisation(organisation).filter(action__objective__priority__plan=plan)
    context = {
        "organisation": organisation,
        "plan": plan,
        "register_url": _with_plan(reverse("priorities:action-list"), switch, partner=organisation.pk),
        "csv_url": _with_plan(reverse("priorities:action-export-csv"), switch, partner=organisation.pk),
        "organisation_reminders": reminders[:50],
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
            home = error.user.organisation
            assert home is not None  # a partner belongs to an organisation
            url = reverse("user-reactivate", args=[home.slug, error.user.pk])
            return redirect(f"{url}?{urlencode({'to': organisation.slug})}")
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.user.email}. The link works for 7 days.")
            return redirect(organisation)
    return _render_organisation(request, slug, invite_form=form, status=400)
