"""A partner's report of progress on one of its actions, for the secretariat to review."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from tracker.forms import apply_errors
from tracker.permissions import PARTNER, role_required

from ..forms import SubmissionForm
from ..models import Action
from ..services import submission_create
from .actions import _render_action


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
