"""Celery tasks for messaging: thin wrappers that take ids or dates and call the services.

Each keeps the name it had when it lived in priorities/tasks.py (`name="priorities.tasks..."`): beat's
stored schedules (django_celery_beat's PeriodicTask rows, written by priorities' migrations 0006 and 0010)
and the messages already queued name the tasks so, and the services queue them by these names.
"""

import datetime
import uuid
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from .notifications import SEND_NOTIFICATION_BATCH, notifications_run_digest, notifications_send_batch
from .reminders import MAX_SEND_ATTEMPTS, SEND_REMINDER_BATCH, reminders_run_daily, reminders_send_batch


@shared_task(name="priorities.tasks.send_daily_reminders", acks_late=True, reject_on_worker_lost=True)
def send_daily_reminders(today: str | None = None) -> dict[str, int]:
    """Beat's daily job: write the reminders owed today and queue their sending."""
    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    summary = reminders_run_daily(today=day)
    return {"written": summary.written, "queued": len(summary.queued_ids)}


# Every outbox batch task (reminders, notifications): acknowledged only once done, so a killed worker's
# batch is redelivered. A database outage mid-batch would otherwise end the task (and acknowledge it) with
# rows still claimed: retry the same task id, which takes its claimed rows back and skips those marked sent.
OUTBOX_BATCH_TASK: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": MAX_SEND_ATTEMPTS,
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
}


@shared_task(name=SEND_REMINDER_BATCH, **OUTBOX_BATCH_TASK)
def send_reminder_batch(self: Task, reminder_ids: list[int]) -> dict[str, int]:
    """Send these reminder rows; after a mail-server or database failure retry the rest with backoff."""
    # The task id survives redelivery and retries, so a re-run takes back the rows it had claimed.
    outcome = reminders_send_batch(reminder_ids=reminder_ids, claim_token=self.request.id or f"direct-{uuid.uuid4()}")
    if outcome.retry_ids:
        base = settings.REMINDER_RETRY_BACKOFF_SECONDS
        raise self.retry(kwargs={"reminder_ids": outcome.retry_ids}, countdown=base * 2**self.request.retries)
    return {"sent": len(outcome.sent_ids), "failed": len(outcome.failed_ids)}


@shared_task(name=SEND_NOTIFICATION_BATCH, **OUTBOX_BATCH_TASK)
def send_notification_batch(self: Task, notification_ids: list[int]) -> dict[str, int]:
    """Send these notification rows (the same outbox as reminders); retry the rest with backoff."""
    outcome = notifications_send_batch(
        notification_ids=notification_ids, claim_token=self.request.id or f"direct-{uuid.uuid4()}"
    )
    if outcome.retry_ids:
        base = settings.REMINDER_RETRY_BACKOFF_SECONDS
        raise self.retry(kwargs={"notification_ids": outcome.retry_ids}, countdown=base * 2**self.request.retries)
    return {"sent": len(outcome.sent_ids), "failed": len(outcome.failed_ids)}


@shared_task(name="priorities.tasks.send_notification_digests", acks_late=True, reject_on_worker_lost=True)
def send_notification_digests() -> dict[str, int]:
    """Beat's daily job: queue each person's digest of the notifications they chose to get once a day."""
    queued = notifications_run_digest()  # not send_now: the ids of the rows queued
    assert isinstance(queued, list)  # noqa: S101  # send_now=False returns the queued ids, never an outcome
    return {"queued": len(queued)}
