"""Home: the partner portal's front page, and where staff land after signing in."""

import datetime

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from indicators.models import Measure, MeasurementSubmission
from priorities.charts import STATUS_ORDER
from priorities.models import DUE_SOON_DAYS, Action, Status, Submission
from priorities.plan_choice import current_plan, plan_switch
from tracker.paging import ATTENTION_LIMIT, page_of, preview
from tracker.permissions import PARTNER, role_required

# Where staff land after signing in. Partners' home is "/" itself.
ROLE_HOMES = {"secretariat": "priorities:action-list", "commissioner": "overview:dashboard"}


@require_GET
@login_required
def home(request):
    if request.user.role == PARTNER:
        return partner_home(request)
    return redirect(ROLE_HOMES.get(request.user.role, "priorities:plan"))


@role_required(PARTNER)
def partner_home(request):
    """The organisation's actions summarised, what needs attention first, then all of them 50 a page.

    Bounded whatever the number of actions (issue 18): counts come from one aggregate query, the
    attention lists stop at ATTENTION_LIMIT rows with their totals, the full list is paged, and the
    register's CSV download (the same actions for a partner) has every row.
    """
    today = timezone.localdate()
    # One plan at a time, as the register its download comes from (plan_choice.py: the partner's plans).
    plan = current_plan(request)
    actions = Action.objects.visible_to(request.user).live().filter(objective__priority__plan=plan)
    summary = actions.partner_summary(request.user, today)
    open_actions = actions.awaiting_review(request.user, awaiting=False)
    overdue = open_actions.overdue(today).order_by("next_update_due", "sort_key")
    due_soon = (
        open_actions.exclude(status=Status.COMPLETED)
        .filter(next_update_due__gte=today, next_update_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
        .order_by("next_update_due", "sort_key")
    )
    returned = (
        Submission.objects.visible_to(request.user)
        .awaiting_answer()
        .select_related("action", "submitted_by", "decided_by")
        .order_by("-decided_at", "-pk")
    )
    submissions = Submission.objects.visible_to(request.user).select_related("action", "submitted_by", "decided_by")
    page = page_of(
        request,
        actions.with_awaiting_review(request.user).select_related("last_update").order_by("sort_key", "pk"),
        count=summary["total"],
    )
    context = {
        "organisation": request.user.organisation,
        "plan_query": plan_switch(request).query,
        "summary": summary,
        # "1 off track, 2 on track": the statuses the organisation has, in the status list's order.
        "status_summary": ", ".join(
            f"{summary[status]:,} {Status(status).label.lower()}" for status in STATUS_ORDER if summary[status]
        ),
        "page": page,
        "actions": page.object_list,
        # Progress the organisation submitted is its report, due or not, until the secretariat decides.
        "awaiting_review": preview(actions.awaiting_review(request.user).order_by("sort_key", "pk")),
        "overdue": preview(overdue),
        "due_soon": preview(due_soon),
        "returned": preview(returned),
        "returned_total": returned.count(),
        "attention_limit": ATTENTION_LIMIT,
        "due_soon_days": DUE_SOON_DAYS,
        "submissions": submissions[:20],
        "reported_measures": Measure.objects.filter(
            reporting_organisation_id=request.user.organisation_id, indicator__archived_at__isnull=True
        )
        .select_related("indicator")
        .order_by("indicator__position", "pk"),
        "value_submissions": MeasurementSubmission.objects.visible_to(request.user).select_related(
            "measure", "submitted_by", "decided_by"
        )[:20],
    }
    return render(request, "overview/partner_home.html", context)
