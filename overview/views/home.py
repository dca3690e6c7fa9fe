"""Home: the partner portal's front page, and where staff land after signing in."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from indicators.models import Measure, MeasurementSubmission
from priorities.models import Action, Submission
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
