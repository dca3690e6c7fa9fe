from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from priorities.models import Action
from tracker.permissions import SECRETARIAT, AuthenticatedHttpRequest, role_required

from ..models import Reminder
from ..reminders import reminders_send_for_action


@require_POST
@role_required(SECRETARIAT)
def action_send_reminder(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The secretariat reminds an action's partner contacts now (once a day at most, shared with the daily job)."""
    action = get_object_or_404(Action.objects.visible_to(request.user).select_related("objective__priority"), pk=pk)
    if action.archived_with is not None:
        messages.error(request, "No reminder sent: the action is archived. Restore it to remind its partners.")
        return redirect(action)
    rows = reminders_send_for_action(action=action, by=request.user, today=timezone.localdate())
    if not rows and action.submissions.pending().exists():
        messages.info(
            request,
            "No reminder sent: progress submitted on this action awaits your review, "
            "and no other partner has an active user or contact email.",
        )
    elif not rows:
        messages.warning(request, "No reminder sent: no partner of this action has an active user or contact email.")
    elif all(row.state == Reminder.State.SENT for row in rows):
        sent_on = max(row.sent_at for row in rows if row.sent_at is not None)  # sent rows have it (a constraint)
        messages.info(request, f"Already reminded: the partners were sent this reminder on {sent_on:%-d %B %Y}.")
    else:
        recipients = len({row.recipient_email for row in rows if row.state == Reminder.State.PENDING})
        messages.success(request, f"Reminder queued for {recipients} contact{'s' if recipients != 1 else ''}.")
    return redirect(action)
