"""The commissioner's dashboard: where the plan stands, what changed, and who has not reported."""

import datetime

from django import forms
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from indicators.models import SuccessIndicator
from priorities.charts import (
    STATUS_ORDER,
    engagement_rows,
    register_links,
    stacked_status_bars,
    status_chart_html,
    status_table_rows,
)
from priorities.models import Action, ActionChange, ActionPartner, Objective, ObjectiveStatusCount, Status
from priorities.plan_choice import PLAN_PARAM, current_plan, plan_switch
from tracker.caching import cached_fragment, form_vary, fragment_key, prerendered
from tracker.permissions import STAFF, role_required


class SinceForm(forms.Form):
    since = forms.DateField(
        required=False,
        label="Show changes since",
        widget=forms.DateInput(attrs={"type": "date", "class": "govuk-input--width-10"}),
    )


LIST_LIMIT = 25


def status_counts(actions, today, plan):
    """({objective_id: {status: n}}, overdue total) for the plan's actions (staff: every action).

    The counts per status are the stored ones (ObjectiveStatusCount, kept by the services): a few
    rows per objective, however many actions there are.
    """
    stored = ObjectiveStatusCount.objects.filter(objective__priority__plan=plan)
    return stored.by_objective(), actions.overdue(today).count()


@require_GET
@role_required(*STAFF)
def dashboard(request):
    """The page around a cached body: recomputed only when the data, the day or the query changes."""
    body = cached_fragment(*_dashboard_fragment(request))
    return render(request, "priorities/dashboard.html", {"body_html": body})


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
    plan = current_plan(request)
    actions = Action.objects.visible_to(request.user).live().filter(objective__priority__plan=plan)
    # Every link to the register names the plan, so it shows the actions these numbers count.
    plan_slug = plan_switch(request).slug
    plan_link = register_links()

    def link(**filters):
        return plan_link(plan=plan_slug, **filters)

    register_url = link

    by_objective, overdue_total = status_counts(actions, today, plan)
    objectives = Objective.objects.filter(pk__in=list(by_objective)).select_related("priority__plan")
    overall = {}
    for counts in by_objective.values():
        for status, n in counts.items():
            overall[status] = overall.get(status, 0) + n
    rows = [{"label": "All", "title": "All actions", "counts": overall, "filters": {}}]
    rows += [
        {
            "label": objective.code,
            "title": f"{objective.code} {objective.title}",
            "counts": by_objective[objective.pk],
            "filters": {"objective": objective.pk},
        }
        for objective in objectives
    ]
    for row in rows:
        row["filters"] = {PLAN_PARAM: plan_slug, **row["filters"]}
    chart = stacked_status_bars(rows)
    headline = [
        {
            "status": status,
            "label": Status(status).label,
            "count": overall.get(status, 0),
            "url": register_url(status=status),
        }
        for status in STATUS_ORDER
    ]

    # The lists show the most urgent; their totals link to the register for the rest.
    most_urgent = actions.filter(status__in=[Status.OFF_TRACK, Status.AT_RISK]).order_by("-status", "sort_key")
    in_trouble = (
        # The 25 picked first, then joined to their last updates (not every update joined, then 25 kept).
        Action.objects.filter(pk__in=most_urgent.values("pk")[:LIST_LIMIT])
        .select_related("objective", "last_update__author", "last_update__organisation")
        .order_by("-status", "sort_key")
    )
    overdue = (
        actions.overdue(today).select_related("objective", "owner").order_by("next_update_due", "sort_key")[:LIST_LIMIT]
    )
    since_start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    status_changes = (
        ActionChange.objects.filter(action__in=actions, field="status", changed_at__gte=since_start)
        .select_related("action", "changed_by")
        .order_by("-changed_at", "-pk")[: LIST_LIMIT * 2 + 1]
    )
    engagement = ActionPartner.objects.of_actions(actions).engagement(today)
    status_changes = list(status_changes)
    organisation_path = reverse("organisation-detail", kwargs={"slug": "-"})
    # The organisation's page shows the plan these counts are of.
    plan_query = f"?{plan_switch(request).query}" if plan_slug else ""
    for row in engagement:
        org = row["organisation_id"]
        row["organisation_url"] = organisation_path.replace("/-/", f"/{row['organisation__slug']}/") + plan_query
        row["partnered_url"] = link(partner=org)
        row["current_url"] = link(partner=org, reporting="current")
        row["never_url"] = link(partner=org, reporting="never")
        row["never"] = row["partnered"] - row["ever"]

    indicators = SuccessIndicator.objects.live().for_page(request.user).filter(plan=plan)
    context = {
        "plan": current_plan(request),
        "plan_slug": plan_slug,
        "indicators": indicators,
        "today": today,
        "form": form,
        "since": since,
        "total": sum(overall.values()),
        "headline": headline,
        "chart": chart,
        "chart_html": status_chart_html(
            chart, chart_id="status-chart", chart_title="Actions by status, overall and per objective"
        ),
        "status_rows": status_table_rows(chart),
        "engagement_rows": engagement_rows(engagement),
        "in_trouble": in_trouble,
        "in_trouble_total": overall.get(Status.OFF_TRACK, 0) + overall.get(Status.AT_RISK, 0),
        "overdue": overdue,
        "overdue_total": overdue_total,
        "list_limit": LIST_LIMIT,
        "more_changes": len(status_changes) > LIST_LIMIT * 2,
        "overdue_url": register_url(overdue="on"),
        "status_changes": status_changes[: LIST_LIMIT * 2],
        "engagement": engagement,
        "silent": [row for row in engagement if row["ever"] == 0],
        "at_risk_url": register_url(status=[Status.OFF_TRACK, Status.AT_RISK]),
    }
    return render_to_string("priorities/includes/dashboard_body.html", context)
