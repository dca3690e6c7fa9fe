"""Writes to users and organisations: invitations, deactivation."""

import secrets

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Invitation, User

INVITATION_SALT = "plan-tracker.invitation"


class InvitationInvalid(Exception):
    """The link is unknown, tampered with, already used or expired."""


def invitation_token(invitation):
    """The signed token in the invitation link: useless without SECRET_KEY, void once used or replaced.

    It depends on the invitation alone, not on the clock (signing.dumps adds the current second, so
    the link emailed and the one worked out a moment later differed): the 7 days run from the
    invitation's created_at, checked in invitation_from_token.
    """
    return signing.Signer(salt=INVITATION_SALT).sign_object({"i": invitation.pk, "n": invitation.nonce})


def invitation_url(invitation):
    return settings.SITE_URL + reverse("accept-invitation", kwargs={"token": invitation_token(invitation)})


def _new_invitation(*, user, by):
    # A new nonce voids every earlier link for this user.
    Invitation.objects.filter(user=user, accepted_at__isnull=True).delete()
    invitation = Invitation.objects.create(user=user, invited_by=by, nonce=secrets.token_urlsafe(32))
    from .tasks import send_invitation

    transaction.on_commit(lambda: send_invitation.delay(invitation.pk))
    return invitation


@transaction.atomic
def partner_invite(*, email, organisation, first_name, last_name, by):
    """Create a partner user with no password yet, and email them a one-time link to set one."""
    email = User.objects.normalize_email(email.strip()).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "Someone with this email address already has an account."})
    user = User(
        username=email,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=User.Role.PARTNER,
        organisation=organisation,
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    return _new_invitation(user=user, by=by)


@transaction.atomic
def partner_resend_invitation(*, user, by):
    """Send a fresh link (valid 7 days from now); earlier links stop working."""
    if user.has_usable_password():
        raise ValidationError(f"{user} has already set a password: there is nothing to resend.")
    if not user.is_active:
        raise ValidationError(f"{user} is deactivated: reactivate them in the admin first.")
    return _new_invitation(user=user, by=by)


@transaction.atomic
def user_deactivate(*, user, by):
    """Deactivate a user: Django refuses an inactive user's session on their next request."""
    if user == by:
        raise ValidationError("You cannot deactivate your own account.")
    user.is_active = False
    user.deactivated_at = timezone.now()
    user.save(update_fields=["is_active", "deactivated_at"])
    Invitation.objects.filter(user=user, accepted_at__isnull=True).delete()
    return user


def invitation_from_token(token):
    """The usable invitation a token names, or InvitationInvalid."""
    try:
        if token.count(":") == 2:
            # A link sent before tokens stopped carrying a timestamp (payload:timestamp:signature).
            data = signing.loads(token, salt=INVITATION_SALT, max_age=Invitation.VALID_FOR_DAYS * 24 * 3600)
        else:
            data = signing.Signer(salt=INVITATION_SALT).unsign_object(token)
    except signing.BadSignature as error:
        raise InvitationInvalid("This link is not valid or has expired.") from error
    invitation = Invitation.objects.select_related("user__organisation").filter(pk=data.get("i")).first()
    if invitation is None or not secrets.compare_digest(invitation.nonce, str(data.get("n"))):
        raise InvitationInvalid("This link has been replaced by a newer one, or withdrawn.")
    if invitation.accepted_at is not None:
        raise InvitationInvalid("This link has already been used.")
    if not invitation.is_usable or not invitation.user.is_active:
        raise InvitationInvalid("This link has expired. Ask the secretariat to send a new one.")
    return invitation


@transaction.atomic
def invitation_accept(*, token, password):
    """Set the invited user's password; the link cannot be used again."""
    invitation = invitation_from_token(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvitationInvalid("This link has already been used.")
    user = invitation.user
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return user


def invitation_send(*, invitation):
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
