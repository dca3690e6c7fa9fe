from celery import shared_task

from .models import Invitation
from .services import invitation_send


@shared_task
def ping():
    """Answers "pong": proves a worker takes tasks from the broker (`celery -A tracker call tracker.tasks.ping`)."""
    return "pong"


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation(invitation_id):
    """Email one invitation; a replaced or used invitation is no longer there and is skipped."""
    invitation = Invitation.objects.select_related("user__organisation", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at is not None:
        return
    invitation_send(invitation=invitation)
