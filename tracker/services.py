"""Writes to users and organisations: invitations, deactivation and reactivation."""

import logging
import secrets
from typing import cast

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, SlugField
from django.utils import timezone
from django.utils.text import slugify

from .accounts import notify_account_change
from .emails import INVITATION_SALT
from .models import Invitation, Organisation, User
from .tasks import send_invitation

logger = logging.getLogger("tracker.security")


class AccountDeactivated(ValidationError):
    """An invitation to an address whose partner account is deactivated: reactivate `user` instead."""

    def __init__(self, user: User) -> None:
        self.user = user
        super().__init__(
            {"email": f"{user} ({user.email}) already has an account, which is deactivated: reactivate it instead."}
        )


class InvitationInvalid(Exception):
    """The link is unknown, tampered with, already used or expired."""


def unique_slug(model: type[Model], text: str, fallback: str) -> str:
    """A slug for `text` that no row of `model` (a model with a unique `slug`) has yet: a number is added if needed."""
    slug_field = model._meta.get_field("slug")
    assert isinstance(slug_field, SlugField)
    limit = cast(int, slug_field.max_length)  # a SlugField's is always set
    base = (slugify(text) or fallback)[: limit - 6].strip("-") or fallback
    taken = set(model._default_manager.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def organisation_create(*, name: str) -> Organisation:
    """A new organisation called `name`, with a slug of its own (a plan import adds those its file names)."""
    organisation = Organisation(name=name, slug=unique_slug(Organisation, name, "organisation"))
    organisation.full_clean()
    organisation.save()
    return organisation


def _new_invitation(*, user: User, by: User) -> Invitation:
    # A new nonce voids every earlier link for this user.
    Invitation.objects.filter(user=user, accepted_at__isnull=True).delete()
    invitation = Invitation.objects.create(user=user, invited_by=by, nonce=secrets.token_urlsafe(32))
    transaction.on_commit(lambda: send_invitation.delay(invitation.pk))
    return invitation


@transaction.atomic
def partner_invite(*, email: str, organisation: Organisation, first_name: str, last_name: str, by: User) -> Invitation:
    """Create a partner user with no password yet, and email them a one-time link to set one."""
    email = User.objects.normalize_email(email.strip()).lower()
    holders = list(User.objects.filter(email__iexact=email))
    if any(holder.is_active for holder in holders):
        raise ValidationError({"email": "Someone with this email address already has an account."})
    deactivated = [holder for holder in holders if holder.role == User.Role.PARTNER]
    if len(deactivated) == 1 and len(holders) == 1:
        raise AccountDeactivated(deactivated[0])
    if holders:
        raise ValidationError(
            {"email": "Someone with this email address has a deactivated account: an administrator can reactivate it."}
        )
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
def partner_resend_invitation(*, user: User, by: User) -> Invitation:
    """Send a fresh link (valid 7 days from now); earlier links stop working."""
    if user.has_usable_password():
        raise ValidationError(f"{user} has already set a password: there is nothing to resend.")
    if not user.is_active:
        raise ValidationError(f"{user} is deactivated: reactivate them first.")
    return _new_invitation(user=user, by=by)


def _record(*, user: User, by: User, client: str, message: str) -> None:
    """Deactivations and reactivations: a line in the security log, and the person's history in the admin."""
    logger.warning("account %s: user=%s by=%s from=%s", message.lower(), user.username, by.username, client)
    LogEntry.objects.log_actions(user_id=by.pk, queryset=[user], action_flag=CHANGE, change_message=message)


@transaction.atomic
def user_deactivate(*, user: User, by: User, client: str = "unknown") -> User:
    """Deactivate a user: Django refuses an inactive user's session on their next request; logged."""
    if user == by:
        raise ValidationError("You cannot deactivate your own account.")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active:
        raise ValidationError(f"{user} is already deactivated.")
    user.is_active = False
    user.deactivated_at = timezone.now()
    user.save(update_fields=["is_active", "deactivated_at"])
    Invitation.objects.filter(user=user, accepted_at__isnull=True).delete()
    _record(user=user, by=by, client=client, message="Deactivated")
    return user


@transaction.atomic
def user_reactivate(*, user: User, by: User, client: str = "unknown", organisation: Organisation | None = None) -> User:
    """Let a deactivated partner user sign in again, at `organisation` if given (a move); logged, and they are emailed.

    Someone who had set a password is told by email that they can sign in again with it; someone who
    had not gets a new invitation link instead (deactivating withdrew the old one).
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        raise ValidationError(f"{user} is already active.")
    if user.role != User.Role.PARTNER:
        raise ValidationError(f"{user} is not a partner user: an administrator reactivates them in the admin.")
    message = "Reactivated"
    if organisation is not None and organisation.pk != user.organisation_id:
        moved_from = user.organisation.name if user.organisation else "no organisation"
        user.organisation = organisation
        message = f"Reactivated, and moved from {moved_from} to {organisation.name}"
    user.is_active = True
    user.full_clean()
    user.save(update_fields=["is_active", "organisation"])
    _record(user=user, by=by, client=client, message=message)
    if user.has_usable_password():
        notify_account_change(user=user, event="account-reactivated", client=client)
    else:
        _new_invitation(user=user, by=by)
    return user


def invitation_from_token(token: str) -> Invitation:
    """The usable invitation a token names, or InvitationInvalid."""
    try:
        if token.count(":") == 2:
            # A link sent before tokens stopped carrying a timestamp (payload:timestamp:signature).
            data = signing.loads(token, salt=INVITATION_SALT, max_age=Invitation.VALID_FOR_DAYS * 24 * 3600)
        else:
            data = signing.Signer(salt=INVITATION_SALT).unsign_object(token)
    except signing.BadSignature as error:
        raise InvitationInvalid("This link is not valid or has expired.") from error
    pk = data.get("i") if isinstance(data, dict) else None
    invitations = Invitation.objects.select_related("user__organisation")
    invitation = invitations.filter(pk=pk).first() if isinstance(pk, int) else None
    if invitation is None or not secrets.compare_digest(invitation.nonce, str(data.get("n"))):
        raise InvitationInvalid("This link has been replaced by a newer one, or withdrawn.")
    if invitation.accepted_at is not None:
        raise InvitationInvalid("This link has already been used.")
    if not invitation.is_usable or not invitation.user.is_active:
        raise InvitationInvalid("This link has expired. Ask the secretariat to send a new one.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str) -> User:
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
