"""Progress reminders: work out what is owed, write it as rows, send each row once.

The daily job first writes every reminder it owes as a `Reminder` row (unique per recipient, action,
cycle, kind and sequence), then sends the pending rows as one digest per recipient. Sending claims
rows with a conditional UPDATE keyed by the sending task's id, so two runs at once never send a row
twice, and a redelivered task (acks_late, same id) takes back the rows it had claimed.

What a partner is owed is worked out from the rows already written and sent, not from the calendar
alone (`partner_reminder_due`): one reminder in the week before the due date, then, once overdue, one
a week for the first four and one every four weeks after that, each counted from the day the previous
one was sent, until the organisation reports. `reminders_due` is the one place that decides, and says
why each partner reminder it does not owe today is not owed; a dry run is the real run rolled back.
"""

import dataclasses
import datetime
import enum
import functools
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import Max, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from priorities.models import Action, ActionPartner, Status, Submission
from tracker.celery import app as celery_app
from tracker.models import Organisation, User
from tracker.outbox import (  # noqa: F401 (SendOutcome and the constants are this module's API too)
    MARK_SENT_EVERY,
    MAX_SEND_ATTEMPTS,
    STALE_CLAIM,
    KeepingBackend,
    OutboxEmail,
    SendOutcome,
    message_id_for,
    outbox_send_batch,
    release_stale_claims,
)

from .models import Reminder
from .report_links import LINKED_KINDS, dry_run_url, links_for_reminders

logger = logging.getLogger(__name__)

DUE_SOON_DAYS = 7
# Once overdue: weekly for the first OVERDUE_WEEKLY_REMINDERS, then every OVERDUE_LATER_INTERVAL_DAYS,
# each counted from the day the previous reminder was sent, for as long as the update is outstanding.
OVERDUE_INTERVAL_DAYS = 7
OVERDUE_WEEKLY_REMINDERS = 4
OVERDUE_LATER_INTERVAL_DAYS = 28
ESCALATE_AFTER_DAYS = 14
# Rows per sending task; a recipient's rows are never split over two tasks.
BATCH_ROWS = 500
# The task that sends a batch (messaging/tasks.py), found by its name when queued: the tasks call this
# module's services (Celery's layout), so this module does not import them. The name is the one stored
# in queues and schedules before the move from priorities.
SEND_REMINDER_BATCH = "priorities.tasks.send_reminder_batch"


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
    def key(self) -> tuple[str, int, datetime.date, str, int]:
        return (self.recipient_email, self.action_id, self.cycle, self.kind, self.sequence)


@dataclasses.dataclass(frozen=True)
class PartnerHistory:
    """What an organisation's reminder rows say about one action's current due date."""

    due_soon_on: datetime.date | None = None  # the day its reminder before the due date was written
    last_sequence: int = 0  # the latest overdue reminder written: 1, 2, 3 ...
    last_written_on: datetime.date | None = None  # the day that one was written
    last_sent_on: datetime.date | None = None  # the day it was sent (None while it is not)
    pending: bool = False  # an overdue reminder written and not yet sent: the next run sends it
    sending: bool = False  # one being sent by a task right now
    # The last day a reminder about the action was written, whatever due date it was about: when the due
    # date moves (a new update frequency, an import), the new date's reminders start afresh, but not the
    # same day as one about the old date.
    reminded_on: datetime.date | None = None


NO_HISTORY = PartnerHistory()


class Held(enum.Enum):
    """Why a partner is not reminded of an action today (send_reminders prints the label)."""

    NO_CONTACT = "no contact (no active partner user with an email, and no contact email on the organisation)"
    AWAITING_REVIEW = "progress submitted, awaiting review"
    ARCHIVED = "archived"
    NO_PARTNER = "no partner organisation (only its owner is reminded)"
    NOT_DUE_AGAIN = "reminded already"
    BEING_SENT = "a reminder is being sent right now"
    # Not listed: the reminder written earlier and still pending goes out with this run.
    PENDING = "the reminder written earlier goes out with this run"


@dataclasses.dataclass(frozen=True)
class PartnerDecision:
    """The partner reminder owed today (kind, sequence), or why none is, and when the next one is."""

    kind: str | None = None
    sequence: int = 0
    held: Held | None = None
    next_on: datetime.date | None = None
    last_on: datetime.date | None = None


@dataclasses.dataclass(frozen=True)
class HeldReminder:
    """A partner reminder not owed today: which organisation, which action, why, and when the next one is."""

    held: Held
    action_id: int
    organisation_id: int | None
    next_on: datetime.date | None = None
    last_on: datetime.date | None = None


@dataclasses.dataclass(frozen=True)
class HeldLine:
    """Partner reminders not sent today for one reason, as send_reminders prints them."""

    organisation: str  # the organisation's name; "" for an action with no partner
    held: Held
    next_on: datetime.date | None
    last_on: datetime.date | None
    actions: list[str]  # action labels (action_labels)


@dataclasses.dataclass
class DueReminders:
    owed: list[OwedReminder]
    held: list[HeldReminder]


@dataclasses.dataclass
class RunSummary:
    today: datetime.date
    dry_run: bool
    # recipient email -> {"actions": {action id: label}, "kinds": set of kind labels}: the digests sent
    # (or, when the sending is queued, the rows queued)
    recipients: dict[str, dict[str, Any]]
    written: int
    queued_ids: list[int]
    outcome: SendOutcome | None = None
    # recipient email -> the report links their digest would carry (dry run only; not valid links)
    links: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    # [HeldLine]: the partner reminders not sent today, and why
    held: list[HeldLine] = dataclasses.field(default_factory=list)
    # rows waiting to be sent that this run did not send after all: {Reminder.State: count}
    not_sent: dict[str, int] = dataclasses.field(default_factory=dict)


def overdue_interval(sequence: int) -> int:
    """Days from overdue reminder `sequence` being sent to the next one."""
    return OVERDUE_INTERVAL_DAYS if sequence < OVERDUE_WEEKLY_REMINDERS else OVERDUE_LATER_INTERVAL_DAYS


def partner_reminder_due(
    *, due: datetime.date, today: datetime.date, history: PartnerHistory = NO_HISTORY
) -> PartnerDecision:
    """The partner reminder owed on `today` for an update due on `due`, given what the organisation was sent.

    One reminder in the DUE_SOON_DAYS before the due date. Once overdue: the first at once, each next
    one overdue_interval() days after the previous one was sent (a previous one that failed or was not
    sent counts from the day it was written), never a second while one is waiting to go out, and never two
    on one day (a due date that moved the same day waits until tomorrow).
    """
    decision = _reminder_for_due_date(due=due, today=today, history=history)
    if decision.kind is not None and history.reminded_on == today:
        return PartnerDecision(held=Held.NOT_DUE_AGAIN, next_on=today + datetime.timedelta(days=1), last_on=today)
    return decision


def _reminder_for_due_date(*, due: datetime.date, today: datetime.date, history: PartnerHistory) -> PartnerDecision:
    """partner_reminder_due for the reminders about `due` alone."""
    days_left = (due - today).days
    if days_left > DUE_SOON_DAYS:
        return PartnerDecision(next_on=due - datetime.timedelta(days=DUE_SOON_DAYS))
    if days_left >= 0:
        if history.due_soon_on is None:
            return PartnerDecision(kind=Reminder.Kind.DUE_SOON)
        return PartnerDecision(
            held=Held.NOT_DUE_AGAIN, next_on=due + datetime.timedelta(days=1), last_on=history.due_soon_on
        )
    if history.sending:
        return PartnerDecision(held=Held.BEING_SENT)
    if history.pending:
        return PartnerDecision(held=Held.PENDING)
    if not history.last_sequence:
        return PartnerDecision(kind=Reminder.Kind.OVERDUE, sequence=1)
    last_on = history.last_sent_on or history.last_written_on
    assert last_on is not None  # an overdue reminder with a sequence was written on a day
    next_on = last_on + datetime.timedelta(days=overdue_interval(history.last_sequence))
    if next_on <= today:
        return PartnerDecision(kind=Reminder.Kind.OVERDUE, sequence=history.last_sequence + 1)
    return PartnerDecision(held=Held.NOT_DUE_AGAIN, next_on=next_on, last_on=last_on)


def partner_histories(*, action_ids: Collection[int]) -> dict[tuple[int, int], PartnerHistory]:
    """{(organisation id, action id): PartnerHistory} from the partner rows about each action's current due date
    (and the last day one was written about any due date)."""
    rows = (
        Reminder.objects.filter(
            action_id__in=action_ids,
            organisation__isnull=False,
            kind__in=[Reminder.Kind.DUE_SOON, Reminder.Kind.OVERDUE],
        )
        .values_list("organisation_id", "action_id", "kind", "sequence", "state", "cycle", "action__next_update_due")
        .annotate(written=Max("created_at"), sent=Max("sent_at"))
        .order_by()
    )
    found: defaultdict[tuple[int, int], list[tuple[Any, ...]]] = defaultdict(list)
    last_written: dict[tuple[int, int], datetime.datetime] = {}
    for organisation_id, action_id, kind, sequence, state, cycle, current, written, sent in rows:
        key = (organisation_id, action_id)
        last_written[key] = max(written, last_written.get(key, written))
        if cycle == current:
            found[key].append((kind, sequence, state, written, sent))
    histories = {key: PartnerHistory(reminded_on=timezone.localdate(written)) for key, written in last_written.items()}
    for key, items in found.items():
        due_soon = [written for kind, _, _, written, _ in items if kind == Reminder.Kind.DUE_SOON]
        overdue = [item for item in items if item[0] == Reminder.Kind.OVERDUE]
        last = max((sequence for _, sequence, *_ in overdue), default=0)
        latest = [item for item in overdue if item[1] == last]
        sent = [sent for _, _, state, _, sent in latest if state == Reminder.State.SENT and sent]
        histories[key] = PartnerHistory(
            due_soon_on=timezone.localdate(max(due_soon)) if due_soon else None,
            last_sequence=last,
            last_written_on=timezone.localdate(max(written for *_, written, _ in latest)) if latest else None,
            last_sent_on=timezone.localdate(max(sent)) if sent else None,
            pending=any(state == Reminder.State.PENDING for _, _, state, *_ in overdue),
            sending=any(state == Reminder.State.SENDING for _, _, state, *_ in overdue),
            reminded_on=histories[key].reminded_on,
        )
    return histories


def partner_contacts(*, organisation_ids: Collection[int]) -> defaultdict[int, list[Contact]]:
    """Each organisation's contacts: its members (active partner users with an email who have set a
    password), else its contact email. Someone invited who never joined cannot open the links."""
    contacts: defaultdict[int, list[Contact]] = defaultdict(list)
    users = (
        User.objects.filter(organisation_id__in=organisation_ids, role=User.Role.PARTNER, is_active=True)
        .exclude(email="")
        .exclude(password="")
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .order_by("pk")
    )
    for user in users:
        assert user.organisation_id is not None  # filtered on it above
        contacts[user.organisation_id].append(Contact(user.email.strip().lower(), user.pk, user.organisation_id))
    fallback = Organisation.objects.filter(pk__in=set(organisation_ids) - set(contacts)).exclude(contact_email="")
    for organisation in fallback:
        contacts[organisation.pk].append(Contact(organisation.contact_email.strip().lower(), None, organisation.pk))
    return contacts


def _in_window(queryset: QuerySet[Action], *, today: datetime.date) -> QuerySet[Action]:
    return (
        queryset.exclude(status=Status.COMPLETED)
        .filter(next_update_due__isnull=False, next_update_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
        .select_related("owner")
        .order_by("sort_key", "pk")
    )


def _actions_in_window(*, today: datetime.date) -> QuerySet[Action]:
    return _in_window(Action.objects.live(), today=today)


def _partners_by_action(action_ids: Iterable[int]) -> defaultdict[int, list[int]]:
    partners: defaultdict[int, list[int]] = defaultdict(list)
    rows = ActionPartner.objects.filter(action__in=action_ids).values_list("action_id", "organisation_id")
    for action_id, organisation_id in rows.order_by("action_id", "organisation_id"):
        partners[action_id].append(organisation_id)
    return partners


def _partner_due(*, actions: Sequence[Action], today: datetime.date, manual: bool = False) -> DueReminders:
    """The partner reminders owed on `today` about `actions`, and those not owed with why (DueReminders).

    With `manual` (the secretariat's "send now"), an organisation the schedule owes nothing today gets
    the reminder it was sent today or that waits to be sent, else one of the kind "manual", once a day.
    """
    ids = [action.pk for action in actions]
    partners = _partners_by_action(ids)
    # An organisation whose progress on the action awaits review has reported: nothing to remind it of.
    awaiting_review = set(
        Submission.objects.pending().filter(action__in=ids).values_list("action_id", "organisation_id")
    )
    histories = partner_histories(action_ids=ids)
    contacts = partner_contacts(organisation_ids={org for orgs in partners.values() for org in orgs})
    owed: list[OwedReminder] = []
    held: list[HeldReminder] = []
    for action in actions:
        due = action.next_update_due
        if not partners[action.pk] and due is not None and due < today and not manual:
            held.append(HeldReminder(Held.NO_PARTNER, action.pk, None))
        for organisation_id in partners[action.pk]:
            if (action.pk, organisation_id) in awaiting_review:
                held.append(HeldReminder(Held.AWAITING_REVIEW, action.pk, organisation_id))
                continue
            history = histories.get((organisation_id, action.pk), NO_HISTORY)
            # An action with no update frequency has no due date: only the secretariat reminds about it.
            decision = partner_reminder_due(due=due, today=today, history=history) if due else PartnerDecision()
            if decision.kind is not None and due is not None:  # (a decision names a kind only for a due date)
                kind, cycle, sequence = decision.kind, due, decision.sequence
            elif manual:
                kind, cycle, sequence = _manual_reminder(action=action, today=today, history=history)
            else:
                if decision.held not in (None, Held.PENDING):
                    held.append(
                        HeldReminder(decision.held, action.pk, organisation_id, decision.next_on, decision.last_on)
                    )
                continue
            if not contacts.get(organisation_id):
                held.append(HeldReminder(Held.NO_CONTACT, action.pk, organisation_id))
                continue
            for contact in contacts[organisation_id]:
                owed.append(
                    OwedReminder(contact.email, contact.user_id, organisation_id, action.pk, kind, cycle, sequence)
                )
    return DueReminders(owed=owed, held=held)


def _manual_reminder(
    *, action: Action, today: datetime.date, history: PartnerHistory
) -> tuple[str, datetime.date, int]:
    """(kind, cycle, sequence) of a reminder the secretariat asks for outside the schedule."""
    due = action.next_update_due
    if due is None:  # no due date, so no history about one (partner_histories keys rows by due date)
        return Reminder.Kind.MANUAL, today, 0
    if history.last_sequence and (
        history.pending or history.sending or history.last_written_on == today or history.last_sent_on == today
    ):
        # The overdue reminder written today, or waiting to go out: sent (again if it failed) now.
        return Reminder.Kind.OVERDUE, due, history.last_sequence
    if not history.last_sequence and history.due_soon_on == today:
        return Reminder.Kind.DUE_SOON, due, 0
    return Reminder.Kind.MANUAL, today, 0


def _archived_held(*, today: datetime.date) -> list[HeldReminder]:
    """Archived actions that would be due or overdue: their partners get no reminder (listed, not owed)."""
    actions = list(_in_window(Action.objects.archived(), today=today))
    partners = _partners_by_action([action.pk for action in actions])
    return [
        HeldReminder(Held.ARCHIVED, action.pk, organisation_id)
        for action in actions
        for organisation_id in partners[action.pk]
    ]


def reminders_due(*, today: datetime.date) -> DueReminders:
    """Every reminder owed on `today` (partner digests, escalations to owners, the commissioners' Monday
    summary) and every partner reminder not owed, with why: the one place the daily job and its dry run decide."""
    actions = list(_actions_in_window(today=today))
    due = _partner_due(actions=actions, today=today)
    owed = due.owed
    for action in actions:
        owner, due_on = action.owner, action.next_update_due
        assert due_on is not None  # _in_window keeps the actions with a due date
        if (today - due_on).days >= ESCALATE_AFTER_DAYS and owner and owner.is_active and owner.email:
            owed.append(
                OwedReminder(owner.email.strip().lower(), owner.pk, None, action.pk, Reminder.Kind.ESCALATION, due_on)
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
    return DueReminders(
        owed=list({item.key: item for item in owed}.values()), held=due.held + _archived_held(today=today)
    )


def reminders_owed(*, today: datetime.date) -> list[OwedReminder]:
    """Every reminder owed on `today` (see reminders_due)."""
    return reminders_due(today=today).owed


def _existing_keys(owed: Sequence[OwedReminder]) -> set[tuple[str, int, datetime.date, str, int]]:
    if not owed:
        return set()
    rows = Reminder.objects.filter(
        action_id__in={o.action_id for o in owed}, cycle__in={o.cycle for o in owed}
    ).values_list("recipient_email", "action_id", "cycle", "kind", "sequence")
    return set(rows)


def reminders_record(*, owed: Sequence[OwedReminder], requested_by: User | None = None) -> list[OwedReminder]:
    """Write the owed reminders not written yet; a row that exists (the unique constraint) is left as it is."""
    existing = _existing_keys(owed)
    new = [item for item in owed if item.key not in existing]
    now = timezone.now()
    Reminder.objects.bulk_create(
        [
            Reminder(
                created_at=now,
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


def reminders_release_stale_claims(*, now: datetime.datetime | None = None) -> int:
    """Rows claimed by a task that never came back go back to pending."""
    return release_stale_claims(model=Reminder, now=now)


def batches_by_recipient(*, reminder_ids: Iterable[int]) -> list[list[int]]:
    """The pending rows split into sending batches, each recipient's rows kept in one batch."""
    rows = (
        Reminder.objects.filter(pk__in=reminder_ids, state=Reminder.State.PENDING)
        .order_by("recipient_email", "pk")
        .values_list("recipient_email", "pk")
    )
    batches: list[list[int]] = []
    current: list[int] = []
    current_email = None
    for email, pk in rows:
        if email != current_email and len(current) >= BATCH_ROWS:
            batches.append(current)
            current = []
        current.append(pk)
        current_email = email
    if current:
        batches.append(current)
    return batches


def reminders_enqueue(*, reminder_ids: Iterable[int]) -> None:
    """Queue the sending of the pending rows once the current transaction commits."""
    send_reminder_batch = celery_app.tasks[SEND_REMINDER_BATCH]
    for batch in batches_by_recipient(reminder_ids=reminder_ids):
        transaction.on_commit(functools.partial(send_reminder_batch.delay, reminder_ids=batch))


def action_labels(actions: Iterable[Action]) -> dict[int, str]:
    """{action id: label}: the action's code, with its plan's title where two of `actions` share a code."""
    codes = Counter(action.code for action in actions)
    return {
        action.pk: action.code if codes[action.code] == 1 else f"{action.code} ({action.objective.priority.plan.title})"
        for action in actions
    }


def _summarise(
    reminder_ids: Iterable[int], *, links: bool = False
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """recipient -> {"actions": {action id: label}, "kinds": {kind labels}} for these rows, and their report links.

    The same for the dry run and the real run: rows sent (or to be sent) are summarised by action id, so
    two actions that share a code in two plans are two actions.
    """
    rows = list(
        Reminder.objects.filter(pk__in=reminder_ids)
        .select_related("action__objective__priority__plan")
        .order_by("recipient_email", "action__sort_key", "action_id", "pk")
    )
    by_recipient: defaultdict[str, list[Reminder]] = defaultdict(list)
    for row in rows:
        by_recipient[row.recipient_email].append(row)
    recipients: dict[str, dict[str, Any]] = {}
    urls: defaultdict[str, list[str]] = defaultdict(list)
    for email, group in sorted(by_recipient.items()):
        labels = action_labels({row.action_id: row.action for row in group}.values())
        recipients[email] = {"actions": labels, "kinds": {Reminder.Kind(row.kind).label for row in group}}
        for row in group:
            if links and row.kind in LINKED_KINDS and row.recipient_user_id and row.organisation_id:
                urls[email].append(dry_run_url(action_code=labels[row.action_id], recipient_email=email))
    return recipients, {email: sorted(set(found)) for email, found in urls.items()}


def _describe_held(held: Sequence[HeldReminder]) -> list[HeldLine]:
    """[HeldLine], by organisation, reason and date; a code that two of the actions share comes with its plan."""
    if not held:
        return []
    actions = {
        action.pk: action
        for action in Action.objects.filter(pk__in={h.action_id for h in held}).select_related(
            "objective__priority__plan"
        )
    }
    labels = action_labels(actions.values())
    names: dict[int | None, str] = dict(
        Organisation.objects.filter(pk__in={h.organisation_id for h in held}).values_list("pk", "name")
    )
    reasons = list(Held)
    groups: defaultdict[tuple[str, Held, datetime.date | None, datetime.date | None], set[int]] = defaultdict(set)
    for item in held:
        groups[names.get(item.organisation_id, ""), item.held, item.next_on, item.last_on].add(item.action_id)

    def order(key: tuple[str, Held, datetime.date | None, datetime.date | None]) -> tuple[Any, ...]:
        # Organisations by name, then the actions with no partner; by reason, then by date.
        name, reason, next_on, last_on = key
        return (
            name == "",
            name.lower(),
            reasons.index(reason),
            next_on or datetime.date.min,
            last_on or datetime.date.min,
        )

    return [
        HeldLine(*key, [labels[pk] for pk in sorted(groups[key], key=lambda pk: (actions[pk].sort_key, pk))])
        for key in sorted(groups, key=order)
    ]


def _run_daily(
    *, today: datetime.date, send_now: bool, connection: BaseEmailBackend | None = None, links: bool = False
) -> RunSummary:
    due = reminders_due(today=today)
    with transaction.atomic():
        reminders_release_stale_claims()
        new = reminders_record(owed=due.owed)
        pending_ids = list(Reminder.objects.pending().order_by("pk").values_list("pk", flat=True))
        if not send_now:
            reminders_enqueue(reminder_ids=pending_ids)
    outcome = None
    if send_now:
        outcome = reminders_send_batch(
            reminder_ids=pending_ids, claim_token=f"inline-{uuid.uuid4()}", today=today, connection=connection
        )
    recipients, urls = _summarise(outcome.sent_ids if outcome else pending_ids, links=links)
    not_sent = Counter(
        Reminder.objects.filter(
            pk__in=pending_ids, state__in=[Reminder.State.SKIPPED, Reminder.State.ARCHIVED]
        ).values_list("state", flat=True)
    )
    return RunSummary(
        today=today,
        dry_run=False,
        recipients=recipients,
        written=len(new),
        queued_ids=pending_ids,
        outcome=outcome,
        links=urls,
        held=_describe_held(due.held),
        not_sent=dict(sorted(not_sent.items())),
    )


def reminders_run_daily(*, today: datetime.date, dry_run: bool = False, send_now: bool = False) -> RunSummary:
    """Write the reminders owed on `today`, then send every pending row: queued after commit, or here when send_now.

    A dry run is the run with send_now, inside a transaction rolled back at the end and with its emails
    kept by a mail backend that sends nothing: it reports what the real run would write and send
    because it is the real run, digests built and all.
    """
    if not dry_run:
        return _run_daily(today=today, send_now=send_now)
    with transaction.atomic():
        summary = _run_daily(today=today, send_now=True, connection=KeepingBackend(), links=True)
        transaction.set_rollback(True)
    summary.dry_run = True
    return summary


def reminders_send_for_action(*, action: Action, by: User, today: datetime.date | None = None) -> list[Reminder]:
    """Remind an action's partner contacts now, through the rows the daily job would write (so never twice a day).

    An archived action gets no reminders: nothing is written.
    """
    today = today or timezone.localdate()
    if not Action.objects.live().filter(pk=action.pk).exists():
        return []
    owed = _partner_due(actions=[action], today=today, manual=True).owed
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


def digest_message_id(*, recipient_email: str, reminder_ids: Iterable[int]) -> str:
    """A Message-ID that depends only on the rows, so a resend after a crash can be recognised as the same email."""
    return message_id_for(prefix="reminder", recipient_email=recipient_email, ids=reminder_ids)


DigestEmail = OutboxEmail


def _action_url(action: Action, cache: dict[int, str] | None) -> str:
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


def build_digest(
    *,
    recipient_email: str,
    reminders: Sequence[Reminder],
    today: datetime.date | None = None,
    connection: BaseEmailBackend | None = None,
    action_urls: dict[int, str] | None = None,
    report_urls: dict[int, str] | None = None,
) -> EmailMultiAlternatives:
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
        body=render_to_string("messaging/emails/reminder_digest.txt", context),
        to=[recipient_email],
        headers={
            "Message-ID": digest_message_id(recipient_email=recipient_email, reminder_ids=[r.pk for r in reminders])
        },
        connection=connection,
    )
    message.attach_alternative(render_to_string("messaging/emails/reminder_digest.html", context), "text/html")
    return message


def reminders_skip_awaiting_review(*, reminder_ids: Iterable[int]) -> int:
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


def reminders_skip_archived_actions(*, action_ids: list[int]) -> int:
    """Reminders written but not sent about actions that are now archived: marked not sent."""
    return Reminder.objects.filter(action_id__in=action_ids, state=Reminder.State.PENDING).update(
        state=Reminder.State.ARCHIVED
    )


def reminders_skip_archived(*, reminder_ids: Iterable[int]) -> int:
    """Pending rows about actions archived since they were written (or hidden by their objective): not sent."""
    return (
        Reminder.objects.filter(pk__in=reminder_ids, state=Reminder.State.PENDING)
        .exclude(action__in=Action.objects.live())
        .update(state=Reminder.State.ARCHIVED)
    )


def reminders_send_batch(
    *,
    reminder_ids: Sequence[int],
    claim_token: str,
    connection: BaseEmailBackend | None = None,
    today: datetime.date | None = None,
) -> SendOutcome:
    """Send the batch's pending rows as one digest per recipient over one SMTP connection, marking each sent."""
    # A row written before the partner submitted (queued, or waiting for a retry) must not go out.
    reminders_skip_awaiting_review(reminder_ids=reminder_ids)
    reminders_skip_archived(reminder_ids=reminder_ids)
    today = today or timezone.localdate()
    action_urls: dict[int, str] = {}
    report_urls: dict[int, str] = {}

    def build(email: str, group: list[Reminder], connection: BaseEmailBackend) -> EmailMultiAlternatives:
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
        # Each partner's action gets a link to report without signing in (messaging/report_links.py).
        prepare=lambda rows: report_urls.update(links_for_reminders(rows)),
        label="Reminders",
    )


@transaction.atomic
def reminders_retry_failed(*, reminder_ids: Iterable[int]) -> int:
    """Put failed rows back to pending with fresh attempts and queue them; sent rows are never touched."""
    ids = list(Reminder.objects.filter(pk__in=reminder_ids, state=Reminder.State.FAILED).values_list("pk", flat=True))
    Reminder.objects.filter(pk__in=ids).update(state=Reminder.State.PENDING, attempts=0, claim_token="")
    reminders_enqueue(reminder_ids=ids)
    return len(ids)
