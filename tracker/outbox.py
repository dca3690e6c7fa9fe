"""The email outbox: rows written once, claimed by a task, sent once (messaging's reminders and notifications).

A model used as an outbox is an `OutboxRow` (`attempts`, `last_error`, `claim_token`,
`claimed_at`, `message_id`, `created_at`, `sent_at`) with `recipient_email` and `state` (pending, sending,
sent, failed). Sending claims
rows with a conditional UPDATE keyed by the sending task's id, so two runs at once never send a row
twice, and a redelivered task (acks_late, same id) takes back the rows it had claimed. Rows are
grouped into emails by `group_key` (a reminder digest per recipient, a notification alone, or a
notification digest per recipient), each email with a Message-ID that depends only on its rows.

It knows nothing of what the rows are about: the app that owns a model says how to load, group and
build its emails (`outbox_send_batch`'s `queryset`, `group_key`, `prepare` and `build`).
"""

import dataclasses
import datetime
import hashlib
import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from email.message import Message
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection as db_connection
from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5
# A row still "sending" this long after its claim lost its task for good: it goes back to pending.
STALE_CLAIM = datetime.timedelta(hours=2)
# Seconds between commits marking accepted emails sent (see SentMarks).
MARK_SENT_EVERY = 0.05


class OutboxRow(models.Model):
    """What every row of the email outbox keeps about its sending (a concrete model adds `recipient_email`
    and `state`, whose choices are a `State` with PENDING, SENDING, SENT and FAILED)."""

    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claim_token = models.CharField(max_length=64, blank=True, help_text="The task sending the row.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


@dataclasses.dataclass
class SendOutcome:
    sent_ids: list[int] = dataclasses.field(default_factory=list)
    failed_ids: list[int] = dataclasses.field(default_factory=list)
    retry_ids: list[int] = dataclasses.field(default_factory=list)
    messages: int = 0


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2]


def message_id_for(*, prefix: str, recipient_email: str, ids: Iterable[int]) -> str:
    """A Message-ID that depends only on the rows, so a resend after a crash can be recognised as the same email."""
    ids = sorted(ids)
    digest = hashlib.sha256(f"{recipient_email}:{','.join(map(str, ids))}".encode()).hexdigest()[:20]
    return f"<{prefix}-{ids[0]}.{digest}@{site_domain()}>"


class OutboxEmail(EmailMultiAlternatives):
    """An email with its MIME boundary derived from its Message-ID (the same bytes when sent again)."""

    def _create_alternatives(self, msg: Message) -> Message:
        msg = super()._create_alternatives(msg)  # type: ignore[misc]  # Django 5.2 has it; the stubs omit it
        # The generator otherwise draws a random boundary and compiles a regex per email to check it.
        msg.set_boundary("=_" + hashlib.sha256(self.extra_headers["Message-ID"].encode()).hexdigest()[:32])
        return msg


def is_permanent(exc: BaseException) -> bool:
    # A 5xx answer about this message or recipient: retrying will not help, the next email may still go.
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


# One statement per flush, each row with its own email's Message-ID. Plain SQL: the ORM's
# Case(When(pk__in=...)) cost more to build than the emails took to send. Only placeholders and the
# model's own table name go in.
MARK_SENT_SQL = (
    "UPDATE {table} SET state = %s, sent_at = %s, message_id = CASE id {whens} END, "
    "attempts = attempts + 1, last_error = '' WHERE id IN ({ids}) AND state = %s AND claim_token = %s"
)


def mark_sent_each(waiting: list[tuple[list[int], str]], *, claim_token: str, model: Any) -> None:
    """Mark [(ids, message_id), ...] sent in one statement: all of them or, if the database fails, none."""
    pairs = [(pk, message_id) for ids, message_id in waiting for pk in ids]
    sql = MARK_SENT_SQL.format(
        table=db_connection.ops.quote_name(model._meta.db_table),
        whens=" ".join(["WHEN %s THEN %s"] * len(pairs)),
        ids=", ".join(["%s"] * len(pairs)),
    )
    params = [
        model.State.SENT,
        db_connection.ops.adapt_datetimefield_value(timezone.now()),
        *(value for pair in pairs for value in pair),
        *(pk for pk, _ in pairs),
        model.State.SENDING,
        claim_token,
    ]
    with db_connection.cursor() as cursor:
        cursor.execute(sql, params)


class SentMarks:
    """Rows accepted by the mail server, marked sent in one commit at most every MARK_SENT_EVERY seconds.

    One commit per email would cost more than the email itself; grouping them bounds what a killed
    worker can send twice to the emails of the last few milliseconds, each with the same Message-ID.
    """

    def __init__(self, *, claim_token: str, model: Any) -> None:
        self.claim_token = claim_token
        self.model = model
        self.waiting: list[tuple[list[int], str]] = []
        self.flushed_at = time.monotonic()

    def add(self, *, ids: list[int], message_id: str) -> None:
        self.waiting.append((ids, message_id))
        if time.monotonic() - self.flushed_at >= MARK_SENT_EVERY:
            self.flush()

    def flush(self) -> None:
        if self.waiting:
            mark_sent_each(self.waiting, claim_token=self.claim_token, model=self.model)
            self.waiting = []
        self.flushed_at = time.monotonic()


def mark_failed(*, model: Any, ids: Sequence[int], claim_token: str, error: str) -> None:
    model.objects.filter(pk__in=ids, state=model.State.SENDING, claim_token=claim_token).update(
        state=model.State.FAILED, attempts=F("attempts") + 1, last_error=error[:1000]
    )


def release(*, model: Any, ids: Sequence[int], claim_token: str, error: str) -> list[int]:
    """Give rows back after a failed attempt; the fifth failed attempt marks them failed. Returns the ones to retry."""
    claimed = model.objects.filter(pk__in=ids, state=model.State.SENDING, claim_token=claim_token)
    claimed.filter(attempts__gte=MAX_SEND_ATTEMPTS - 1).update(
        state=model.State.FAILED, attempts=F("attempts") + 1, last_error=error[:1000]
    )
    retry = list(claimed.values_list("pk", flat=True))
    claimed.update(state=model.State.PENDING, claim_token="", attempts=F("attempts") + 1, last_error=error[:1000])
    return retry


def release_stale_claims(*, model: Any, now: datetime.datetime | None = None) -> int:
    """Rows claimed by a task that never came back go back to pending."""
    now = now or timezone.now()
    return model.objects.filter(state=model.State.SENDING, claimed_at__lt=now - STALE_CLAIM).update(
        state=model.State.PENDING, claim_token=""
    )


def outbox_send_batch(
    *,
    model: Any,
    ids: Sequence[int],
    claim_token: str,
    build: Callable[[Any, list[Any], BaseEmailBackend], EmailMultiAlternatives],
    group_key: Callable[[Any], Hashable],
    queryset: QuerySet[Any] | None = None,
    connection: BaseEmailBackend | None = None,
    prepare: Callable[[list[Any]], object] | None = None,
    label: str = "Outbox",
) -> SendOutcome:
    """Send the pending rows `ids` of `model` over one SMTP connection, one email per group, marking each sent.

    `queryset` loads the claimed rows (with what `build` needs, in order); `prepare(rows)` runs once
    before sending; `build(key, rows, connection)` makes the email of one group.
    """
    model.objects.filter(pk__in=ids).filter(
        Q(state=model.State.PENDING) | Q(state=model.State.SENDING, claim_token=claim_token)
    ).update(state=model.State.SENDING, claim_token=claim_token, claimed_at=timezone.now())
    queryset = queryset if queryset is not None else model.objects.order_by("recipient_email", "pk")
    rows = list(queryset.filter(pk__in=ids, state=model.State.SENDING, claim_token=claim_token))
    outcome = SendOutcome()
    if not rows:
        return outcome
    groups: defaultdict[Hashable, list[Any]] = defaultdict(list)
    for row in rows:
        groups[group_key(row)].append(row)
    connection = connection or get_connection()
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("%s: cannot reach the mail server (%s); %d rows back to pending", label, exc, len(rows))
        outcome.retry_ids = release(model=model, ids=[row.pk for row in rows], claim_token=claim_token, error=repr(exc))
        return outcome
    if prepare is not None:
        prepare(rows)
    marks = SentMarks(claim_token=claim_token, model=model)
    try:
        keys = list(groups)
        for position, key in enumerate(keys):
            group = groups[key]
            group_ids = [row.pk for row in group]
            message = build(key, group, connection)
            try:
                message.send()
            except (smtplib.SMTPException, OSError) as exc:
                if is_permanent(exc):
                    logger.warning("%s: %s refused (%s)", label, group[0].recipient_email, exc)
                    mark_failed(model=model, ids=group_ids, claim_token=claim_token, error=repr(exc))
                    outcome.failed_ids += group_ids
                    continue
                marks.flush()
                rest = [row.pk for later in keys[position:] for row in groups[later]]
                logger.warning("%s: sending stopped (%s); %d rows back to pending", label, exc, len(rest))
                outcome.retry_ids = release(model=model, ids=rest, claim_token=claim_token, error=repr(exc))
                outcome.failed_ids += sorted(set(rest) - set(outcome.retry_ids))
                break
            marks.add(ids=group_ids, message_id=message.extra_headers["Message-ID"])
            outcome.sent_ids += group_ids
            outcome.messages += 1
    finally:
        marks.flush()
        try:
            connection.close()
        except (smtplib.SMTPException, OSError):
            pass
    return outcome


class KeepingBackend(BaseEmailBackend):
    """A mail backend that sends nothing and keeps the messages it is given (the reminders' dry run)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.messages: list[EmailMessage] = []

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        self.messages.extend(messages)
        return len(messages)
