"""The partner portal: a partner's home and their submissions of progress."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from indicators.models import Measure, MeasurementSubmission
from tracker.forms import apply_errors
from tracker.paging import ATTENTION_LIMIT, page_of, preview
from tracker.permissions import PARTNER, role_required

from ..charts import STATUS_ORDER
from ..forms import SubmissionForm
from ..models import DUE_SOON_DAYS, Action, Status, Submission
from ..services import submission_create
from .actions import _render_action


@role_required(PARTNER)
def partner_home(request):
    """The organisation's actions summarised, what needs attention first, then all of them 50 a page.

    Bounded whatever the number of actions (issue 18): counts come from one aggregate query, the
    attention lists stop at ATTENTION_LIMIT rows with their totals, the full list is paged, and the
    register's CSV download (the same actions for a partner) has every row.
    """
    today = timezone.localdate()
    actions = Action.objects.visible_to(request.user)
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
        "summary": summary,
        "status_counts": [
            {"status": status, "label": Status(status).label, "count": summary[status]} for status in STATUS_ORDER
        ],
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
        "reported_measures": Measure.objects.filter(reporting_organisation_id=request.user.organisation_id)
        .select_related("indicator")
        .order_by("indicator__position", "pk"),
        "value_submissions": MeasurementSubmission.objects.visible_to(request.user).select_related(
            "measure", "submitted_by", "decided_by"
        )[:20],
    }
    return render(request, "priorities/partner_home.html", context)


@require_POST
@role_required(PARTNER)
def submission_create_view(request, pk):
    action = get_object_or_404(
        Action.objects.visible_to(request.user).select_related("objective__priority__plan", "owner"), pk=pk
    )
    form = SubmissionForm(request.POST, action=action)
    if form.is_valid():
        try:
            submission_create(
                action=action,
                by=request.user,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
                evidence_url=form.cleaned_data["evidence_url"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, f"Progress on {action.code} submitted. The secretariat will review it before it is official."
            )
            return redirect(action)
    return _render_action(request, action, update_form=form, status=400)
