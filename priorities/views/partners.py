"""The partner portal: a partner's home and their submissions of progress."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from indicators.models import Measure, MeasurementSubmission
from tracker.forms import apply_errors
from tracker.permissions import PARTNER, role_required

from ..forms import SubmissionForm
from ..models import Action, Submission
from ..services import submission_create
from .actions import _render_action


@role_required(PARTNER)
def partner_home(request):
    """What the organisation partners, what is due and overdue, and its recent submissions."""
    today = timezone.localdate()
    actions = list(
        Action.objects.visible_to(request.user)
        .live()
        .with_awaiting_review(request.user)
        .select_related("objective", "last_update")
        .order_by("next_update_due", "sort_key")
    )
    submissions = Submission.objects.visible_to(request.user).select_related("action", "submitted_by", "decided_by")[
        :20
    ]
    context = {
        "organisation": request.user.organisation,
        "actions": sorted(actions, key=lambda a: a.sort_key),
        # Progress the organisation submitted is its report, due or not, until the secretariat decides.
        "awaiting_review": [a for a in actions if a.awaiting_review],
        "overdue": [a for a in actions if a.is_overdue and not a.awaiting_review],
        "due_soon": [
            a
            for a in actions
            if not a.is_overdue
            and not a.awaiting_review
            and a.next_update_due
            and (a.next_update_due - today).days <= 30
            and a.status != "completed"
        ],
        "submissions": submissions,
        "reported_measures": Measure.objects.filter(
            reporting_organisation_id=request.user.organisation_id, indicator__archived_at__isnull=True
        )
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
