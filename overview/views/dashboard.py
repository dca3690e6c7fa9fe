"""The commissioner's dashboard: where the plan stands, what changed, and who has not reported."""

import datetime

from django import forms
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from overview.page_data import dashboard_data
from priorities.charts import (
    register_links,
)
from priorities.plan_choice import PLAN_PARAM, current_plan, plan_switch
from tracker.caching import cached_fragment, form_vary, fragment_key, prerendered
from tracker.permissions import STAFF, role_required


class SinceForm(forms.Form):
    since = forms.DateField(
        required=False,
        label="Show changes since",
        widget=forms.DateInput(attrs={"type": "date", "class": "govuk-input--width-10"}),
    )


@require_GET
@role_required(*STAFF)
def dashboard(request):
    """The page around a cached body: recomputed only when the data, the day or the query changes."""
    body = cached_fragment(*_dashboard_fragment(request))
    return render(request, "overview/dashboard.html", {"body_html": body})


@prerendered("dashboard")
def _dashboard_fragment(request):
    """The dashboard body's (FragmentKey, render); rendered ahead after changes too (tracker/caching.py)."""
    plan = current_plan(request)
    key = fragment_key(
        request,
        "dashboard",
        form_vary(request, SinceForm(request.GET), extra=(PLAN_PARAM,)),
        [plan.pk if plan else None, plan_switch(request).show],
    )
    return key, lambda: _dashboard_body(request)


def _dashboard_body(request):
    today = timezone.localdate()
    default_since = today - datetime.timedelta(days=30)
    # The box shows the date the heading names, also before anyone picks one.
    form = SinceForm(request.GET if request.GET.get("since") else None, initial={"since": default_since})
    since = (form.cleaned_data.get("since") if form.is_bound and form.is_valid() else None) or default_since
    # Every link to the register names the plan, so it shows the actions these numbers count.
    plan_slug = plan_switch(request).slug
    plan_link = register_links()
    context = dashboard_data(
        user=request.user,
        plan=current_plan(request),
        since=since,
        today=today,
        register_url=lambda **filters: plan_link(plan=plan_slug, **filters),
        plan_slug=plan_slug,
        # The organisation's page shows the plan these counts are of.
        plan_query=f"?{plan_switch(request).query}" if plan_slug else "",
    )
    return render_to_string("overview/includes/dashboard_body.html", {**context, "form": form})
