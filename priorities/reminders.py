"""Progress reminders: work out what is owed, write it as rows, send each row once.

The daily job first writes every reminder it owes as a `Reminder` row (unique per recipient, action,
cycle, kind and sequence), then sends the pending rows as one digest per recipient. Sending claims
rows with a conditional UPDATE keyed by the sending task's id, so two runs at once never send a row
twice, and a redelivered task (acks_late, same id) takes back the rows it had claimed.
"""

import dataclasses
import datetime
import logging
import uuid
from collections import defaultdict

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.db.models import OuterRef
from django.template.loader import render_to_string
from django.utils import timezone

from tracker.models import Organisation, User

from .models import Action, ActionPartner, Reminder, Status, Submission
from .outbox import (  # noqa: F401 (SendOutcome and the constants are this module's API too)
    MARK_SENT_EVERY,
    MAX_SEND_ATTEMPTS,
    STALE_CLAIM,
    OutboxEmail,
    SendOutcome,
    message_id_for,
    outbox_send_batch,
    release_stale_claims,
)
from .report_links import LINKED_KINDS, dry_run_url, links_for_reminders

logger = logging.getLogger(__name__)

DUE_SOON_DAYS = 7
OVERDUE_INTERVAL_DAYS = 7
OVERDUE_REMINDERS_MAX = 4
ESCALATE_AFTER_DAYS = 14
# Rows per sending task; a recipient's rows are never split over two tasks.
BATCH_ROWS = 500


@dataclasses.dataclass(frozen=True)
class Contact:
    email: str
    user_id: int | None
    organisation_id: int | None


@dataclasses.dataclass(frozen=True)
class OwedReminder:
    recipient_email: str
    recipient_user_id: int | None
    organisation_id: int | None
    action_id: int
    kind: str
    cycle: datetime.date
    sequence: int = 0

    @property
    def key(self):
        return (self.recipient_email, self.action_id, self.cycle, self.kind, self.sequence)


@dataclasses.dataclass
class RunSummary:
    today: datetime.date
    dry_run: bool
    # recipient email -> {"actions": set of action codes, "kinds": set of kind labels}
    recipients: dict
    written: int
    queued_ids: list
    outcome: SendOutcome | None = None
    # recipient email -> the report links their digest would carry (dry run only; not valid links)
    links: dict = dataclasses.field(default_factory=dict)


def partner_reminder_due(*, due, today):
    """The partner reminder owed on `today` for an update due on `due`: one before, then weekly, at most four."""
    days_left = (due - today).days
    if 0 <= days_left <= DUE_SOON_DAYS:
        return Reminder.Kind.DUE_SOON, 0
    if days_left < 0:
        week = (-days_left - 1) // OVERDUE_INTERVAL_DAYS + 1
        if week <= OVERDUE_REMINDERS_MAX:
            return Reminder.Kind.OVERDUE, week
    return None


def partner_contacts(*, organisation_ids):
    """Each organisation's contacts: its members (active partner users with an email who have set a
    password), else its contact email. Someone invited who never joined cannot open the links."""
    contacts = defaultdict(list)
    users = (
        User.objects.filter(organisation_id__in=organisation_ids, role=User.Role.PARTNER, is_active=True)
        .exclude(email="")
        .exclude(password="")
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .order_by("pk")
    )
    for user in users:
        contacts[user.organisation_id].append(Contact(user.email.strip().lower(), user.pk, user.organisation_id))
    fallback = Organisation.objects.filter(pk__in=set(organisation_ids) - set(contacts)).exclude(contact_email="")
    for organisation in fallback:
        contacts[organisation.pk].append(Contact(organisation.contact_email.strip().lower(), None, organisation.pk))
    return contacts


def _actions_in_window(*, today):
    return (
        Action.objects.live()
        .exclude(status=Status.COMPLETED)
        .filter(next_update_due__isnull=False, next_update_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
        .select_related("owner")
        .order_by("sort_key")
    )


def _partner_owed(*, actions, today, manual=False):
    partnerships = ActionPartner.objects.filter(action__in=[a.pk for a in actions]).values_list(
        "action_id", "organisation_id"
    )
    # An organisation whose progress on the action awaits review has reported: nothing to remind it of.
    awaiting_review = set(
        Submission.objects.pending()
        .filter(action__in=[a.pk for a in actions])
        .values_list("action_id", "organisation_id")
    )
    organisations_by_action = defaultdict(list)
    for action_id, organisation_id in partnerships:
        if (action_id, organisation_id) not in awaiting_review:
            organisations_by_action[action_id].append(organisation_id)
    contacts = partner_contacts(organisation_ids={org for orgs in organisations_by_action.values() for org in orgs})
    owed = []
    for action in actions:
        rule = partner_reminder_due(due=action.next_update_due, today=today) if action.next_update_due else None
        if rule is None:
            if not manual:
                continue
            # Outside the schedule the secretariat's reminder is its own kind, once a day at most.
            rule, cycle = (Reminder.Kind.MANUAL, 0), today
        else:
            cycle = action.next_update_due
        kind, sequence = rule
        for organisation_id in organisations_by_action[action.pk]:
            for contact in contacts.get(organisation_id, []):
                owed.append(
                    OwedReminder(contact.email, contact.user_id, organisation_id, action.pk, kind, cycle, sequence)
                )
    return owed


def reminders_owed(*, today):
    """Every reminder owed on `today`: partner digests, escalations to owners, the commissioners' Monday summary."""
    actions = list(_actions_in_window(today=today))
    owed = _partner_owed(actions=actions, today=today)
    for action in actions:
        owner = action.owner
        if (today - action.next_update_due).days >= ESCALATE_AFTER_DAYS and owner and owner.is_active and owner.email:
            owed.append(
                OwedReminder(
                    owner.email.strip().lower(),
                    owner.pk,
                    None,
                    action.pk,
                    Reminder.Kind.ESCALATION,
                    action.next_update_due,
                )
            )
    if today.weekday() == 0 and actions:
        commissioners = User.objects.filter(role=User.Role.COMMISSIONER, is_active=True).exclude(email="")
        for commissioner in commissioners:
            for action in actions:
                owed.append(
                    OwedReminder(
                        commissioner.email.strip().lower(),
                        commissioner.pk,
                        None,
                        action.pk,
                        Reminder.Kind.WEEKLY_SUMMARY,
                        today,
                    )
                )
    return list({item.key: item for item in owed}.values())


def _existing_keys(owed):
    if not owed:
        return set()
    rows = Reminder.objects.filter(
        action_id__in={o.action_id for o in owed}, cycle__in={o.cycle for o in owed}
    ).values_list("recipient_email", "action_id", "cycle", "kind", "sequence")
    return set(rows)


def reminders_record(*, owed, requested_by=None):
    """Write the owed reminders not written yet; a row that exists (the unique constraint) is left as it is."""
    existing = _existing_keys(owed)
    new = [item for item in owed if item.key not in existing]
    Reminder.objects.bulk_create(
        [
            Reminder(
                recipient_email=item.recipient_email,
                recipient_user_id=item.recipient_user_id,
                organisation_id=item.organisation_id,
                action_id=item.action_id,
                kind=item.kind,
                cycle=item.cycle,
                sequence=item.sequence,
                requested_by=requested_by,
            )
            for item in new
        ],
        batch_size=500,
        # A run at the same moment may have written some of them first: its row stands.
        ignore_conflicts=True,
    )
    return new


def reminders_release_stale_claims(*, now=None):
    """Rows claimed by a task that never came back go back to pending."""
    return release_stale_claims(model=Reminder, now=now)


def batches_by_recipient(*, reminder_ids):
    """The pending rows split into sending batches, each recipient's rows kept in one batch."""
    rows = (
        Reminder.objects.filter(pk__in=reminder_ids, state=Reminder.State.PENDING)
        .order_by("recipient_email", "pk")
        .values_list("recipient_email", "pk")
    )
    batches, current, current_email = [], [], None
    for email, pk in rows:
        if email != current_email and len(current) >= BATCH_ROWS:
            batches.append(current)
            current = []
        current.append(pk)
        current_email = email
    if current:
        batches.append(current)
    return batches


def reminders_enqueue(*, reminder_ids):
    """Queue the sending of the pending rows once the current transaction commits."""
    from .tasks import send_reminder_batch

    for batch in batches_by_recipient(reminder_ids=reminder_ids):
        transaction.on_commit(lambda batch=batch: send_reminder_batch.delay(reminder_ids=batch))


def _summarise(owed):
    recipients = defaultdict(lambda: {"actions": set(), "kinds": set()})
    codes = dict(Action.objects.filter(pk__in={o.action_id for o in owed}).values_list("pk", "code"))
    for item in owed:
        recipients[item.recipient_email]["actions"].add(codes.get(item.action_id, item.action_id))
        recipients[item.recipient_email]["kinds"].add(Reminder.Kind(item.kind).label)
    return dict(sorted(recipients.items()))


def _dry_run_links(owed):
    """The report links the digests would carry, shown without a valid signature."""
    codes = dict(Action.objects.filter(pk__in={o.action_id for o in owed}).values_list("pk", "code"))
    links = defaultdict(list)
    for item in owed:
        if item.kind in LINKED_KINDS and item.recipient_user_id and item.organisation_id:
            code = codes.get(item.action_id, item.action_id)
            links[item.recipient_email].append(dry_run_url(action_code=code, recipient_email=item.recipient_email))
    return {email: sorted(set(urls)) for email, urls in sorted(links.items())}


def reminders_run_daily(*, today, dry_run=False, send_now=False):
    """Write the reminders owed on `today`, then send every pending row: queued after commit, or here when send_now."""
    owed = reminders_owed(today=today)
    if dry_run:
        new = [item for item in owed if item.key not in _existing_keys(owed)]
        return RunSummary(
            today=today,
            dry_run=True,
            recipients=_summarise(new),
            written=len(new),
            queued_ids=[],
            links=_dry_run_links(new),
        )
    with transaction.atomic():
        reminders_release_stale_claims()
        new = reminders_record(owed=owed)
        pending_ids = list(Reminder.objects.pending().order_by("pk").values_list("pk", flat=True))
        if not send_now:
            reminders_enqueue(reminder_ids=pending_ids)
    summary = RunSummary(
        today=today, dry_run=False, recipients=_summarise(new), written=len(new), queued_ids=pending_ids
    )
    if send_now:
        summary.outcome = reminders_send_batch(
            reminder_ids=pending_ids, claim_token=f"inline-{uuid.uuid4()}", today=today
        )
    return summary


def reminders_send_for_action(*, action, by, today=None):
    """Remind an action's partner contacts now, through the rows the daily job would write (so never twice a day).

    An archived action gets no reminders: nothing is written.
    """
    today = today or timezone.localdate()
    if not Action.objects.live().filter(pk=action.pk).exists():
        return []
    owed = _partner_owed(actions=[action], today=today, manual=True)
    with transaction.atomic():
        reminders_record(owed=owed, requested_by=by)
        keys = {item.key for item in owed}
        rows = [
            row
            for row in Reminder.objects.filter(action=action, recipient_email__in={o.recipient_email for o in owed})
            if (row.recipient_email, row.action_id, row.cycle, row.kind, row.sequence) in keys
        ]
        # Asking again after a failure is the way to try again: failed rows go back to pending.
        failed = [row for row in rows if row.state == Reminder.State.FAILED]
        Reminder.objects.filter(pk__in=[row.pk for row in failed], state=Reminder.State.FAILED).update(
            state=Reminder.State.PENDING, attempts=0, claim_token="", requested_by=by
        )
        for row in failed:
            row.state, row.attempts = Reminder.State.PENDING, 0
        reminders_enqueue(reminder_ids=[row.pk for row in rows if row.state == Reminder.State.PENDING])
    return rows


def digest_message_id(*, recipient_email, reminder_ids):
    """A Message-ID that depends only on the rows, so a resend after a crash can be recognised as the same email."""
    return message_id_for(prefix="reminder", recipient_email=recipient_email, ids=reminder_ids)


DigestEmail = OutboxEmail


def _action_url(action, cache):
    # Many digests in a batch link to the same actions: reverse() each once per batch.
    if cache is None:
        return settings.SITE_URL + action.get_absolute_url()
    if action.pk not in cache:
        cache[action.pk] = settings.SITE_URL + action.get_absolute_url()
    return cache[action.pk]


MONTHS = "January February March April May June July August September October November December".split()
CYCLE_IS_DUE_DATE = {Reminder.Kind.DUE_SOON, Reminder.Kind.OVERDUE, Reminder.Kind.ESCALATION}
SECTIONS = [
    (Reminder.Kind.ESCALATION, "Escalated to you: more than 14 days overdue"),
    (Reminder.Kind.OVERDUE, "Overdue"),
    (Reminder.Kind.DUE_SOON, "Due in the next 7 days"),
    (Reminder.Kind.MANUAL, "Reminder from the secretariat"),
    (Reminder.Kind.WEEKLY_SUMMARY, "Overdue or due in the next 7 days"),
]


def build_digest(*, recipient_email, reminders, today=None, connection=None, action_urls=None, report_urls=None):
    """The digest email for one recipient's rows: plain text and HTML, each action with its due date and link."""
    today = today or timezone.localdate()
    # Someone whose actions belong to more than one plan is told which plan each is in.
    plan_titles = {row.action.objective.priority.plan_id: row.action.objective.priority.plan.title for row in reminders}
    sections = []
    for kind, heading in SECTIONS:
        items = []
        for row in reminders:
            if row.kind != kind:
                continue
            due = row.cycle if kind in CYCLE_IS_DUE_DATE else row.action.next_update_due
            days_overdue = max(0, (today - due).days) if due else 0
            items.append(
                {
                    "code": row.action.code,
                    "title": row.action.title,
                    "plan": plan_titles[row.action.objective.priority.plan_id] if len(plan_titles) > 1 else "",
                    # Formatted here, once for both bodies: the template filters cost more, per email.
                    "due": f"{due.day} {MONTHS[due.month - 1]} {due.year}" if due else "",
                    "overdue": f"{days_overdue} day{'' if days_overdue == 1 else 's'} overdue" if days_overdue else "",
                    "url": _action_url(row.action, action_urls),
                    "report_url": report_urls.get(row.pk, "") if report_urls else "",
                }
            )
        if items:
            sections.append({"kind": kind, "heading": heading, "items": items})
    kinds = {row.kind for row in reminders}
    count = len({row.action_id for row in reminders})
    noun = "action" if count == 1 else "actions"
    if kinds == {Reminder.Kind.WEEKLY_SUMMARY}:
        subject = f"Weekly summary: {count} {noun} overdue or due in the next 7 days"
    elif Reminder.Kind.ESCALATION in kinds:
        subject = f"Escalation: progress updates overdue on {count} {noun}"
    elif Reminder.Kind.OVERDUE in kinds:
        subject = f"Progress updates overdue: {count} {noun}"
    else:
        subject = f"Progress updates due: {count} {noun}"
    user = next((row.recipient_user for row in reminders if row.recipient_user_id), None)
    context = {
        "greeting_name": (user.get_full_name() or user.username) if user else "",
        "organisation": next((row.organisation for row in reminders if row.organisation_id), None),
        "sections": sections,
        "subject": subject,
        "site_url": settings.SITE_URL,
    }
    message = DigestEmail(
        subject=subject,
        body=render_to_string("emails/reminder_digest.txt", context),
        to=[recipient_email],
        headers={
            "Message-ID": digest_message_id(recipient_email=recipient_email, reminder_ids=[r.pk for r in reminders])
        },
        connection=connection,
    )
    message.attach_alternative(render_to_string("emails/reminder_digest.html", context), "text/html")
    return message


def reminders_skip_awaiting_review(*, reminder_ids):
    """Pending partner rows whose organisation has since submitted progress on the action: marked not sent."""
    return (
        Reminder.objects.filter(pk__in=reminder_ids, state=Reminder.State.PENDING, organisation__isnull=False)
        .filter(
            Submission.objects.pending_from(
                action_ref=OuterRef("action_id"), organisation_ref=OuterRef("organisation_id")
            )
        )
        .update(state=Reminder.State.SKIPPED, claim_token="")
    )


def reminders_skip_archived(*, reminder_ids):
    """Pending rows about actions archived since they were written (or hidden by their objective): not sent."""
    return (
        Reminder.objects.filter(pk__in=reminder_ids, state=Reminder.State.PENDING)
        .exclude(action__in=Action.objects.live())
        .update(state=Reminder.State.ARCHIVED)
    )


def reminders_send_batch(*, reminder_ids, claim_token, connection=None, today=None):
    """Send the batch's pending rows as one digest per recipient over one SMTP connection, marking each sent."""
    # A row written before the partner submitted (queued, or waiting for a retry) must not go out.
    reminders_skip_awaiting_review(reminder_ids=reminder_ids)
    reminders_skip_archived(reminder_ids=reminder_ids)
    today = today or timezone.localdate()
    action_urls, report_urls = {}, {}

    def build(email, group, connection):
        return build_digest(
            recipient_email=email,
            reminders=group,
            today=today,
            connection=connection,
            action_urls=action_urls,
            report_urls=report_urls,
        )

    return outbox_send_batch(
        model=Reminder,
        ids=reminder_ids,
        claim_token=claim_token,
        build=build,
        group_key=lambda row: row.recipient_email,
        queryset=Reminder.objects.select_related(
            "action__objective__priority__plan", "recipient_user", "organisation"
        ).order_by("recipient_email", "action__sort_key", "pk"),
        connection=connection,
        # Each partner's action gets a link to report without signing in (priorities/report_links.py).
        prepare=lambda rows: report_urls.update(links_for_reminders(rows)),
        label="Reminders",
    )


@transaction.atomic
def reminders_retry_failed(*, reminder_ids):
    """Put failed rows back to pending with fresh attempts and queue them; sent rows are never touched."""
    ids = list(Reminder.objects.filter(pk__in=reminder_ids, state=Reminder.State.FAILED).values_list("pk", flat=True))
    Reminder.objects.filter(pk__in=ids).update(state=Reminder.State.PENDING, attempts=0, claim_token="")
    reminders_enqueue(reminder_ids=ids)
    return len(ids)


def organisations_without_contact(*, today):
    """{organisation: [action codes]} owed a partner reminder on `today` that nobody would receive.

    An organisation with no active partner user with an email and no contact email gets no reminder:
    `send_reminders` says so, so the secretariat can add a contact instead of wondering why.
    """
    actions = [
        action
        for action in _actions_in_window(today=today)
        if partner_reminder_due(due=action.next_update_due, today=today) is not None
    ]
    codes = {action.pk: action.code for action in actions}
    partnerships = ActionPartner.objects.filter(action__in=list(codes)).values_list("action_id", "organisation_id")
    actions_by_organisation = defaultdict(list)
    for action_id, organisation_id in partnerships:
        actions_by_organisation[organisation_id].append(codes[action_id])
    contacts = partner_contacts(organisation_ids=set(actions_by_organisation))
    missing = Organisation.objects.filter(pk__in=set(actions_by_organisation) - set(contacts))
    return {organisation: sorted(actions_by_organisation[organisation.pk]) for organisation in missing}
