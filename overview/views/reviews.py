"""The secretariat's review queue for what partners submit."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from indicators.models import MeasurementSubmission
from priorities.forms import ReturnForm
from priorities.models import Submission
from priorities.services import AlreadyDecidedError, submission_accept, submission_return
from tracker.paging import PAGE_SIZE, preview
from tracker.permissions import SECRETARIAT, STAFF, role_required


def _queue_context(request, **extra):
    pending = (
        Submission.objects.pending()
        .select_related("action", "organisation", "submitted_by", "report_link", "api_report")
        .order_by("submitted_at", "pk")
    )
    decided = (
        Submission.objects.exclude(state=Submission.State.SUBMITTED)
        .select_related("action", "organisation", "submitted_by", "decided_by")
        .order_by("-decided_at")[:20]
    )
    pending_values = (
        MeasurementSubmission.objects.pending()
        .select_related("measure__indicator", "organisation", "submitted_by", "api_report")
        .order_by("submitted_at", "pk")
    )
    # The oldest PAGE_SIZE of each, read one row further to know whether more wait (issue 18: bounded).
    pending_shown = preview(pending, PAGE_SIZE + 1)
    pending_values_shown = preview(pending_values, PAGE_SIZE + 1)
    return {
        "pending": pending_shown[:PAGE_SIZE],
        "more_pending": len(pending_shown) > PAGE_SIZE,
        "pending_values": pending_values_shown[:PAGE_SIZE],
        "more_pending_values": len(pending_values_shown) > PAGE_SIZE,
        "batch": PAGE_SIZE,
        "decided": decided,
        "can_decide": request.user.role == SECRETARIAT,
        **extra,
    }


@require_GET
@role_required(*STAFF)
def review_queue(request):
    """Pending submissions, oldest first; the commissioner may read it, only the secretariat decides."""
    return render(request, "overview/review_queue.html", _queue_context(request))


@require_POST
@role_required(SECRETARIAT)
def submission_accept_view(request, pk):
    submission = get_object_or_404(Submission.objects.select_related("action"), pk=pk)
    try:
        submission_accept(submission=submission, by=request.user)
    except AlreadyDecidedError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(
            request,
            f"{submission.action.code} cannot take this update as it stands ({' '.join(error.messages)}). "
            "Return it to the partner with a reason instead.",
        )
    else:
        messages.success(
            request,
            f"Accepted: {submission.action.code} is now {submission.get_status_display().lower()}, "
            f"reported by {submission.submitted_by} ({submission.organisation}).",
        )
    return redirect("overview:review-queue")


@require_POST
@role_required(SECRETARIAT)
def submission_return_view(request, pk):
    submission = get_object_or_404(Submission.objects.select_related("action"), pk=pk)
    form = ReturnForm(request.POST)
    if form.is_valid():
        try:
            submission_return(submission=submission, by=request.user, reason=form.cleaned_data["reason"])
        except AlreadyDecidedError as error:
            messages.error(request, str(error))
            return redirect("overview:review-queue")
        except ValidationError as error:
            form.add_error("reason", error.messages)
        else:
            messages.success(request, f"Returned to {submission.organisation} with your reason.")
            return redirect("overview:review-queue")
    context = _queue_context(request, return_form=form, returning=submission)
    return render(request, "overview/review_queue.html", context, status=400)
