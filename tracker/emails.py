"""The account emails the Celery tasks send (tracker/tasks.py): invitations, password resets, account notices.

They live apart from the services that enqueue them (tracker.services, tracker.accounts), so that the
tasks import this module and the services import the tasks, one way: no import cycle, no lazy import.
"""

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

from .models import Invitation, User

INVITATION_SALT = "plan-tracker.invitation"

# --- account notices: a person is told of changes to their account ----------------------------------

NOTICES: dict[str, str] = {
    "password-changed": "Your Plan Tracker password was changed",
    "password-reset": "Your Plan Tracker password was reset",
    "two-step-enrolled": "Two-step sign-in was set up on your Plan Tracker account",
    "two-step-removed": "Two-step sign-in was turned off on your Plan Tracker account",
    "two-step-reset": "The secretariat reset your Plan Tracker two-step sign-in",
    "recovery-codes-renewed": "New recovery codes were made for your Plan Tracker account",
    "account-reactivated": "Your Plan Tracker account is active again",
}


def account_notice_register(event: str, subject: str) -> None:
    """Add a kind of account notice (for apps above this one: the API's access tokens)."""
    NOTICES[event] = subject


def account_notice_send(*, user: User, event: str, when: str, client: str, detail: str = "") -> None:
    """Email a person that their password or second step changed (called by the Celery task)."""
    context = {
        "user": user,
        "what": NOTICES[event],
        "detail": detail,
        "event": event,
        "when_display": date_format(timezone.localtime(parse_datetime(when)), "j F Y \\a\\t H:i T"),
        "client": client,
        "site_url": settings.SITE_URL,
        "organisation": user.organisation,
    }
    message = EmailMultiAlternatives(
        subject=NOTICES[event], body=render_to_string("emails/account_notice.txt", context), to=[user.email]
    )
    message.attach_alternative(render_to_string("emails/account_notice.html", context), "text/html")
    message.send()


# --- passwords ---------------------------------------------------------------------------------------


def password_reset_send(*, email: str, client: str) -> None:
    """Email a one-time reset link to each active account with this address and a password (Celery task)."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return
    scheme, _, domain = settings.SITE_URL.partition("://")
    form.save(
        domain_override=domain,
        use_https=scheme == "https",
        subject_template_name="emails/password_reset_subject.txt",
        email_template_name="emails/password_reset.txt",
        html_email_template_name="emails/password_reset.html",
        extra_email_context={"site_url": settings.SITE_URL, "client": client, "valid_hours": "2"},
    )


# --- invitations -------------------------------------------------------------------------------------


def invitation_token(invitation: Invitation) -> str:
    """The signed token in the invitation link: useless without SECRET_KEY, void once used or replaced.

    It depends on the invitation alone, not on the clock (signing.dumps adds the current second, so
    the link emailed and the one worked out a moment later differed): the 7 days run from the
    invitation's created_at, checked in invitation_from_token.
    """
    return signing.Signer(salt=INVITATION_SALT).sign_object({"i": invitation.pk, "n": invitation.nonce})


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("accept-invitation", kwargs={"token": invitation_token(invitation)})


def invitation_send(*, invitation: Invitation) -> None:
    """Email the invitation link (called by the Celery task)."""
    user = invitation.user
    context = {
        "user": user,
        "organisation": user.organisation,
        "invited_by": invitation.invited_by,
        "url": invitation_url(invitation),
        "expires_at": invitation.expires_at,
        "site_url": settings.SITE_URL,
    }
    message = EmailMultiAlternatives(
        subject="You have been invited to Plan Tracker",
        body=render_to_string("emails/invitation.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string("emails/invitation.html", context), "text/html")
    message.send()
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
