"""Notifications by email: a partner reported, the secretariat decided, a new report link was asked for.

Each is a `Notification` row written in the transaction that made the event, under a unique key (the
event and the recipient), so an event retried or recorded twice is still one email. Rows to send "as
it happens" are queued after commit; rows a person wants "in a daily digest" wait for the daily job,
which sends each person one email with all of them. Both go through the outbox reminders use
(tracker/outbox.py): claimed by a task, sent with a stable Message-ID, retried, failures kept.
"""

import uuid
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from priorities.models import Action, Status, Submission
from tracker.celery import app as celery_app
from tracker.models import Organisation, User
from tracker.outbox import OutboxEmail, SendOutcome, message_id_for, outbox_send_batch, release_stale_claims

from .models import Notification, NotificationPreference

Kind = Notification.Kind
Delivery = Notification.Delivery
# The task that sends notification rows (messaging/tasks.py), found by its name when queued: the tasks call
# this module's services (Celery's layout), so this module does not import them.
SEND_NOTIFICATION_BATCH = "priorities.tasks.send_notification_batch"
# The kinds a person chooses how to receive; a new link they asked for always comes at once.
CHOOSABLE = (Kind.SUBMITTED, Kind.DECIDED)


def notification_choices(user: User) -> dict[str, str]:
    """{kind: delivery} for each kind a person may choose, "as it happens" unless they chose the digest."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    return {kind: chosen.get(kind, Delivery.NOW) for kind in CHOOSABLE}


@transaction.atomic
def notification_choices_set(*, user: User, choices: dict[str, str]) -> dict[str, str]:
    """Save a person's choice per kind; unknown kinds or deliveries are refused, nothing half-saved."""
    if set(choices) - set(CHOOSABLE) or set(choices.values()) - set(Delivery.values):
        raise ValueError("Unknown notification kind or delivery.")
    for kind, delivery in choices.items():
        # "As it happens" is the default, kept as no row: saving the page untouched writes nothing.
        if delivery == Delivery.NOW:
            NotificationPreference.objects.filter(user=user, kind=kind).delete()
        elif notification_choices(user)[kind] != delivery:
            NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"delivery": delivery})
    return notification_choices(user)


def _address(user: User) -> str:
    return (user.email or "").strip().lower()


def reviewers_for(action: Action | None = None) -> list[User]:
    """Who reviews a report: the action's owner, or with no (active) owner every active secretariat member."""
    owner = action.owner if action is not None else None
    if owner is not None and owner.is_active and _address(owner):
        return [owner]
    return list(User.objects.filter(role=User.Role.SECRETARIAT, is_active=True).exclude(email="").order_by("pk"))


def submitter_recipients(*, submitted_by: User, organisation: Organisation) -> list[tuple[str, User | None]]:
    """Who hears a decision: the person who submitted, or the organisation's contact once they are deactivated."""
    if submitted_by.is_active and _address(submitted_by):
        return [(_address(submitted_by), submitted_by)]
    if organisation.contact_email:
        return [(organisation.contact_email.strip().lower(), None)]
    return []


def _absolute(path: str) -> str:
    return settings.SITE_URL + path


def notifications_record(
    *,
    kind: str,
    event: str,
    recipients: Iterable[tuple[str, User | None]],
    subject: str,
    text: str,
    link_url: str = "",
    link_label: str = "",
    action: Action | None = None,
) -> list[Notification]:
    """Write one notification per recipient [(email, user or None)] for `event`; queue the immediate ones."""
    keys: dict[str, User | None] = {}
    for email, user in recipients:
        if email and email not in keys:
            keys[email] = user
    if not keys:
        return []
    digest_users = set()
    if kind in CHOOSABLE:
        digest_users = set(
            NotificationPreference.objects.filter(
                user__in=[u for u in keys.values() if u is not None], kind=kind, delivery=Delivery.DIGEST
            ).values_list("user_id", flat=True)
        )
    rows = [
        Notification(
            key=f"{event}:{email}"[:200],
            kind=kind,
            delivery=Delivery.DIGEST if user is not None and user.pk in digest_users else Delivery.NOW,
            recipient_email=email,
            recipient_user=user,
            action=action,
            subject=subject[:300],
            text=text,
            link_url=link_url,
            link_label=link_label,
        )
        for email, user in keys.items()
    ]
    # The same event recorded again (a retried task, a second click) finds its rows written: they stand.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    written = list(Notification.objects.filter(key__in=[row.key for row in rows]))
    notifications_enqueue(
        notification_ids=[n.pk for n in written if n.delivery == Delivery.NOW and n.state == Notification.State.PENDING]
    )
    return written


def notifications_enqueue(*, notification_ids: Iterable[int]) -> None:
    """Queue the sending of these rows once the current transaction commits."""
    if not notification_ids:
        return
    ids = list(notification_ids)
    send_notification_batch = celery_app.tasks[SEND_NOTIFICATION_BATCH]
    transaction.on_commit(lambda: send_notification_batch.delay(notification_ids=ids))


def notify_report_submitted(
    *,
    event: str,
    action: Action | None,
    organisation: Organisation,
    submitted_by: User,
    what: str,
    details: Sequence[str],
    review_path: str,
    via_link_to: str = "",
    via_api_token: str = "",
) -> list[Notification]:
    """A partner reported (progress or a value): tell the action's owner, or every active secretariat member."""
    lines = [f"{submitted_by} ({organisation}) reported {what}.", *details]
    if via_link_to:
        lines.append(f"Reported from an email link sent to {via_link_to}.")
    if via_api_token:
        lines.append(f"Reported through the API with the token “{via_api_token}”.")
    return notifications_record(
        kind=Kind.SUBMITTED,
        event=event,
        recipients=[(_address(user), user) for user in reviewers_for(action)],
        subject=f"{organisation.display_name} reported {what}",
        text="\n".join(lines),
        link_url=_absolute(review_path),
        link_label="Review it",
        action=action,
    )


def notify_report_decided(
    *,
    event: str,
    action: Action | None,
    organisation: Organisation,
    submitted_by: User,
    what: str,
    accepted: bool,
    outcome: str,
    reason: str = "",
    answer_path: str,
    decided_by: User,
) -> list[Notification]:
    """The secretariat decided: tell the person who submitted, accepted or returned with the reason."""
    if accepted:
        subject, lines, label = f"Accepted: {what}", [f"{decided_by} accepted {what}. {outcome}"], "See it"
    else:
        subject = f"Returned: {what} needs an answer"
        lines = [f"{decided_by} returned {what}.", f"Reason: {reason}", "Answer it by reporting again."]
        label = "Answer it"
    return notifications_record(
        kind=Kind.DECIDED,
        event=event,
        recipients=submitter_recipients(submitted_by=submitted_by, organisation=organisation),
        subject=subject,
        text="\n".join(lines),
        link_url=_absolute(answer_path),
        link_label=label,
        action=action,
    )


def _progress_details(submission: Submission) -> list[str]:
    details = [f"Proposed status: {Status(submission.status).label}", f"Note: {submission.note or '(none)'}"]
    if submission.evidence_url:
        details.append(f"Evidence: {submission.evidence_url}")
    return details


def notify_progress_submitted(
    *, submission: Submission, via_link_to: str = "", via_api_token: str = ""
) -> list[Notification]:
    action = submission.action
    return notify_report_submitted(
        event=f"submission:{submission.pk}:submitted",
        action=action,
        organisation=submission.organisation,
        submitted_by=submission.submitted_by,
        what=f"progress on {action.code} {action.title}",
        details=_progress_details(submission),
        review_path=reverse("overview:review-queue") + f"#submission-{submission.pk}",
        via_link_to=via_link_to,
        via_api_token=via_api_token,
    )


def notify_progress_decided(*, submission: Submission) -> list[Notification]:
    action = submission.action
    accepted = submission.state == submission.State.ACCEPTED
    if submission.decided_by is None:  # the review services set it with the decision
        raise ValueError(f"Submission {submission.pk} is not decided: nothing to notify.")
    return notify_report_decided(
        event=f"submission:{submission.pk}:{submission.state}",
        action=action,
        organisation=submission.organisation,
        submitted_by=submission.submitted_by,
        what=f"your report on {action.code} {action.title}",
        accepted=accepted,
        outcome=f"The action is now {Status(submission.status).label.lower()}.",
        reason=submission.return_reason,
        answer_path=action.get_absolute_url() + ("" if accepted else "#record-update"),
        decided_by=submission.decided_by,
    )


# --- sending ------------------------------------------------------------------------------------


def _context(rows: Sequence[Notification]) -> dict[str, Any]:
    user = next((row.recipient_user for row in rows if row.recipient_user_id), None)
    return {
        "greeting_name": (user.get_full_name() or user.username) if user else "",
        "items": [
            {
                "subject": row.subject,
                "lines": row.text.splitlines(),
                "link_url": row.link_url,
                "link_label": row.link_label,
                "at": timezone.localtime(row.created_at),
            }
            for row in rows
        ],
        "site_url": settings.SITE_URL,
        "choices_url": _absolute(reverse("messaging:notification-choices")),
    }


def build_notification_email(
    *, rows: Sequence[Notification], connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    """One notification alone (its own subject), or a person's digest of several, as plain text and HTML."""
    if len(rows) == 1 and rows[0].delivery == Delivery.NOW:
        subject = rows[0].subject
    else:
        subject = f"Plan Tracker daily digest: {len(rows)} notification{'s' if len(rows) != 1 else ''}"
    context = {**_context(rows), "subject": subject, "is_digest": rows[0].delivery == Delivery.DIGEST}
    email = rows[0].recipient_email
    message = OutboxEmail(
        subject=subject,
        body=render_to_string("messaging/emails/notification.txt", context),
        to=[email],
        headers={
            "Message-ID": message_id_for(prefix="notification", recipient_email=email, ids=[row.pk for row in rows])
        },
        connection=connection,
    )
    message.attach_alternative(render_to_string("messaging/emails/notification.html", context), "text/html")
    return message


def _group_key(row: Notification) -> Hashable:
    # "As it happens" is one email per row; a digest is one email per person.
    return ("digest", row.recipient_email) if row.delivery == Delivery.DIGEST else ("one", row.pk)


def notifications_send_batch(
    *, notification_ids: Sequence[int], claim_token: str, connection: BaseEmailBackend | None = None
) -> SendOutcome:
    """Send these pending rows (each alone, or a person's digest rows together), marking each sent."""
    return outbox_send_batch(
        model=Notification,
        ids=notification_ids,
        claim_token=claim_token,
        build=lambda key, rows, connection: build_notification_email(rows=rows, connection=connection),
        group_key=_group_key,
        queryset=Notification.objects.select_related("recipient_user").order_by("recipient_email", "created_at", "pk"),
        connection=connection,
        label="Notifications",
    )


def notifications_digest_ids() -> list[int]:
    """The rows waiting for the daily digest."""
    return list(
        Notification.objects.pending().filter(delivery=Delivery.DIGEST).order_by("pk").values_list("pk", flat=True)
    )


def notifications_run_digest(*, send_now: bool = False) -> list[int] | SendOutcome:
    """The daily job: every pending digest row, one email per person; queued after commit, or sent here."""
    with transaction.atomic():
        release_stale_claims(model=Notification)
        ids = notifications_digest_ids()
        # Immediate rows whose task was lost (a broker outage) go with them, each still its own email.
        ids += list(
            Notification.objects.pending().filter(delivery=Delivery.NOW).order_by("pk").values_list("pk", flat=True)
        )
        if not send_now:
            notifications_enqueue(notification_ids=ids)
    if send_now:
        return notifications_send_batch(notification_ids=ids, claim_token=f"inline-{uuid.uuid4()}")
    return ids


@transaction.atomic
def notifications_retry_failed(*, notification_ids: Iterable[int]) -> int:
    """Put failed rows back to pending with fresh attempts and queue them; sent rows are never touched."""
    ids = list(
        Notification.objects.filter(pk__in=notification_ids, state=Notification.State.FAILED).values_list(
            "pk", flat=True
        )
    )
    Notification.objects.filter(pk__in=ids).update(state=Notification.State.PENDING, attempts=0, claim_token="")
    notifications_enqueue(notification_ids=ids)
    return len(ids)
