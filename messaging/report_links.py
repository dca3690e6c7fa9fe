"""Links in reminders that let a partner report on one action without signing in.

The URL carries `Signer(salt).sign_object({"l": id, "n": nonce})`: no timestamp, so the same row
always gives the same URL (a reminder sent again after a crash is the same email). The limits live
on the `ReportLink` row and are checked at every use: 14 days, one submission, replaced by a newer
link for the same person and action, void once the person is deactivated or their organisation no
longer partners the action.
"""

import datetime
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from priorities.models import Action, ActionPartner, Status, Submission
from priorities.services import submission_create
from tracker.models import User

from .models import Reminder, ReportLink
from .notifications import Kind, notifications_record

SALT = "plan-tracker.report-link"
# Reminders to partners carry links; escalations and summaries go to staff, who sign in.
LINKED_KINDS = {Reminder.Kind.DUE_SOON, Reminder.Kind.OVERDUE, Reminder.Kind.MANUAL}
# "Send me a new link": one per person and action every RENEW_EVERY, RENEW_PER_DAY per person a day.
RENEW_EVERY = datetime.timedelta(minutes=15)
RENEW_PER_DAY = 5


class LinkInvalid(Exception):
    """The token was not made by us (tampered, truncated, another site's)."""


class LinkUnusable(Exception):
    """A genuine link that can no longer be used: says why, and whether a new one may be asked for."""

    def __init__(self, message: str, link: ReportLink, *, renewable: bool = True) -> None:
        super().__init__(message)
        self.link = link
        self.renewable = renewable


class RenewRefused(Exception):
    """No new link now: too soon, too many, or the person may no longer report on the action."""


def link_token(link: ReportLink) -> str:
    return signing.Signer(salt=SALT).sign_object({"l": link.pk, "n": link.nonce})


def link_url(link: ReportLink) -> str:
    return settings.SITE_URL + reverse("messaging:report-link", kwargs={"token": link_token(link)})


def dry_run_url(*, action_code: str, recipient_email: str) -> str:
    """What --dry-run prints for a link it would make: the right shape, deliberately not a valid signature."""
    return (
        settings.SITE_URL
        + reverse("messaging:report-link", kwargs={"token": "DRY-RUN"})
        + (f"  (for {action_code}, to {recipient_email}; not a valid link)")
    )


def _new_link(
    *,
    action_id: int,
    user: User,
    organisation_id: int,
    email: str,
    reminder: Reminder | None = None,
    origin: str = ReportLink.Origin.REMINDER,
    now: datetime.datetime | None = None,
) -> ReportLink:
    now = now or timezone.now()
    return ReportLink(
        action_id=action_id,
        recipient_email=email,
        recipient_user=user,
        organisation_id=organisation_id,
        reminder=reminder,
        origin=origin,
        nonce=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + datetime.timedelta(days=ReportLink.VALID_FOR_DAYS),
    )


def links_for_reminders(rows: Sequence[Reminder]) -> dict[int, str]:
    """{reminder id: URL} for the partner reminder rows a link goes with, making the links not made yet.

    Called as a batch is sent: a row's link is made once (unique per reminder), so sending it again
    gives the same URL, and the newest link for a person and action replaces the older ones.
    """
    eligible: list[tuple[Reminder, User, int]] = []  # (row, its recipient, their organisation's id)
    for row in rows:
        if row.kind not in LINKED_KINDS or not row.recipient_user_id or not row.organisation_id:
            continue
        if (user := row.recipient_user) is not None and user.is_active:
            eligible.append((row, user, row.organisation_id))
    if not eligible:
        return {}
    reminders = [row for row, _, _ in eligible]
    existing = _links_by_reminder(reminders)
    missing = [
        _new_link(
            action_id=row.action_id, user=user, organisation_id=organisation_id, email=row.recipient_email, reminder=row
        )
        for row, user, organisation_id in eligible
        if row.pk not in existing
    ]
    if missing:
        ReportLink.objects.bulk_create(missing, ignore_conflicts=True)
        existing = _links_by_reminder(reminders)
    base = settings.SITE_URL + reverse("messaging:report-link", kwargs={"token": "TOKEN"})
    return {pk: base.replace("TOKEN", link_token(link)) for pk, link in existing.items()}


def _links_by_reminder(reminders: Sequence[Reminder]) -> dict[int, ReportLink]:
    links = ReportLink.objects.filter(reminder__in=reminders)
    return {link.reminder_id: link for link in links if link.reminder_id is not None}


def link_from_token(token: str) -> ReportLink:
    """The link a token names (LinkInvalid if we did not sign it), whatever its state."""
    try:
        data = signing.Signer(salt=SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise LinkInvalid("This link is not valid.") from error
    if not isinstance(data, dict) or not isinstance(data.get("l"), int):
        raise LinkInvalid("This link is not valid.")
    link = (
        ReportLink.objects.select_related("action__objective__priority__plan", "recipient_user", "organisation")
        .filter(pk=data["l"])
        .first()
    )
    if link is None or not secrets.compare_digest(link.nonce, str(data.get("n"))):
        raise LinkInvalid("This link is not valid.")
    return link


def may_report(link: ReportLink) -> bool:
    """The person is still active, still at the organisation, and it still partners the action."""
    user = link.recipient_user
    return (
        user.is_active
        and user.role == user.Role.PARTNER
        and user.organisation_id == link.organisation_id
        and ActionPartner.objects.filter(action_id=link.action_id, organisation_id=link.organisation_id).exists()
    )


def check_usable(link: ReportLink, *, now: datetime.datetime | None = None) -> ReportLink:
    """Raise LinkUnusable saying why, unless the link can take a report now."""
    now = now or timezone.now()
    if link.used_at is not None:
        raise LinkUnusable("This link has already been used to send a report.", link)
    if not may_report(link):
        raise LinkUnusable(
            "This link no longer works: you can no longer report on this action. "
            "Ask the secretariat if you think this is wrong.",
            link,
            renewable=False,
        )
    if not Action.objects.live().filter(pk=link.action_id).exists():
        raise LinkUnusable(
            "This link no longer works: the action has been archived and takes no more reports.",
            link,
            renewable=False,
        )
    if now >= link.expires_at:
        raise LinkUnusable("This link has expired: links work for 14 days.", link)
    newer = ReportLink.objects.filter(recipient_email=link.recipient_email, action_id=link.action_id, pk__gt=link.pk)
    if newer.exists():
        raise LinkUnusable("This link has been replaced by a newer one, sent to you by email.", link)
    return link


def report_link_from_token(token: str) -> ReportLink:
    """The usable link a token names: LinkInvalid or LinkUnusable otherwise."""
    return check_usable(link_from_token(token))


@transaction.atomic
def report_link_submit(*, token: str, status: Status | str, note: str, evidence_url: str = "") -> Submission:
    """Record the report made through a link, as its recipient, and use the link up (once, even if posted twice)."""
    link = link_from_token(token)
    link = (
        ReportLink.objects.select_for_update(of=("self",))
        .select_related("action__owner", "recipient_user__organisation", "organisation")
        .get(pk=link.pk)
    )
    check_usable(link)
    # A conditional UPDATE as well as the lock: SQLite has no SELECT ... FOR UPDATE, and two posts at
    # once must still make one report. A refused report rolls this back with the rest.
    now = timezone.now()
    if not ReportLink.objects.filter(pk=link.pk, used_at__isnull=True).update(used_at=now):
        raise LinkUnusable("This link has already been used to send a report.", link)
    submission = submission_create(
        action=link.action,
        by=link.recipient_user,
        status=status,
        note=note,
        evidence_url=evidence_url,
        via_link_to=link.recipient_email,
    )
    link.used_at = now
    link.submission = submission
    link.save(update_fields=["used_at", "submission"])
    return submission


@transaction.atomic
def report_link_renew(*, token: str, now: datetime.datetime | None = None) -> ReportLink:
    """Email a fresh link to the address the old one was sent to; rate-limited, and only if they may still report."""
    now = now or timezone.now()
    old = link_from_token(token)
    if not may_report(old):
        raise RenewRefused("A new link cannot be sent: you can no longer report on this action.")
    recent = ReportLink.objects.filter(recipient_email=old.recipient_email, origin=ReportLink.Origin.RENEWAL)
    if recent.filter(action_id=old.action_id, created_at__gte=now - RENEW_EVERY).exists():
        raise RenewRefused("A new link was sent a few minutes ago: check your email (and its spam folder).")
    if recent.filter(created_at__gte=now - datetime.timedelta(days=1)).count() >= RENEW_PER_DAY:
        raise RenewRefused("Too many new links were asked for today. Sign in instead, or try again tomorrow.")
    link = _new_link(
        action_id=old.action_id,
        user=old.recipient_user,
        organisation_id=old.organisation_id,
        email=old.recipient_email,
        origin=ReportLink.Origin.RENEWAL,
        now=now,
    )
    link.save()
    action = old.action
    notifications_record(
        kind=Kind.LINK,
        event=f"report-link:{link.pk}",
        recipients=[(link.recipient_email, link.recipient_user)],
        subject=f"Your new link to report progress on {action.code}",
        text=(
            f"Here is the new link you asked for, to report progress on {action.code} {action.title} "
            f"without signing in. It works once, for {ReportLink.VALID_FOR_DAYS} days."
        ),
        link_url=link_url(link),
        link_label="Report progress",
        action=action,
    )
    return link
