from celery import shared_task

from .emails import account_notice_send, invitation_send, password_reset_send
from .models import Invitation, User


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


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_password_reset(email, client):
    """Email a password-reset link to the active accounts with this address, if any (the view never knows)."""
    password_reset_send(email=email, client=client)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_account_notice(user_id, event, when, client, detail=""):
    """Tell a person by email that their password, two-step sign-in or access tokens changed."""
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return
    account_notice_send(user=user, event=event, when=when, client=client, detail=detail)
