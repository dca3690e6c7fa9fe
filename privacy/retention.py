"""The retention schedule: what is removed, emptied or anonymised once it is older than its setting.

Each rule reads its period from settings (README "Retention"); 0 turns a rule off. `retention_apply` runs
every rule in one transaction; a dry run is the same run rolled back at the end, so it reports exactly
what a real run would remove (one code path). Each run is kept as a RetentionRun with its counts.
"""

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from audit.models import AccessEvent, SecurityEvent
from messaging.models import Notification, Reminder, ReportLink
from priorities.scheduling import add_months
from tracker.caching import data_changed
from tracker.models import User

from .models import Anonymisation, RetentionHold, RetentionRun
from .services import person_anonymise

logger = logging.getLogger(__name__)

UNSENT = (Notification.State.PENDING, Notification.State.SENDING)


@dataclass(frozen=True)
class Rule:
    key: str  # its name in a run's report
    title: str  # what the README table and the retention page call it
    setting: str | None  # the setting with its period (None: always applied, no period)
    unit: str  # "days" or "months"
    what_happens: str
    apply: Callable[[datetime.datetime], int]  # (cutoff) -> rows removed, emptied or anonymised

    def period(self) -> int | None:
        return int(getattr(settings, self.setting)) if self.setting else None

    def cutoff(self, now: datetime.datetime) -> datetime.datetime | None:
        """The moment before which this rule applies, or None when it is turned off."""
        if self.setting is None:
            return now
        period = self.period()
        if not period:
            return None
        if self.unit == "days":
            return now - datetime.timedelta(days=period)
        local = timezone.localtime(now)
        day = add_months(local.date(), -period)
        return local.replace(year=day.year, month=day.month, day=day.day)


def _email_bodies(cutoff: datetime.datetime) -> int:
    """The text and link of notifications sent (or given up) before `cutoff`, and reminders' error texts."""
    notifications = (
        Notification.objects.filter(created_at__lt=cutoff)
        .exclude(state__in=UNSENT)
        .exclude(text="", link_url="", link_label="", last_error="")
        .update(text="", link_url="", link_label="", last_error="")
    )
    reminders = (
        Reminder.objects.filter(created_at__lt=cutoff)
        .exclude(state__in=UNSENT)
        .exclude(last_error="")
        .update(last_error="")
    )
    return notifications + reminders


def _report_links(cutoff: datetime.datetime) -> int:
    """Links made before `cutoff` lose their address and their secret (long expired: at least 14 days)."""
    # The nonce is unique: "removed:<id>" keeps it so, and no signed link can ever match it again.
    return (
        ReportLink.objects.filter(created_at__lt=cutoff)
        .exclude(recipient_email="")
        .update(recipient_email="", nonce=Concat(Value("removed:"), Cast("pk", CharField())))
    )


def _security_log(cutoff: datetime.datetime) -> int:
    removed = SecurityEvent.objects.filter(at__lt=cutoff).delete()[0]
    for model in (AccessLog, AccessFailureLog, AccessAttempt):
        removed += model.objects.filter(attempt_time__lt=cutoff).delete()[0]
    return removed


def _access_log(cutoff: datetime.datetime) -> int:
    return AccessEvent.objects.older_than(cutoff).delete()[0]


def _deactivated_accounts(cutoff: datetime.datetime) -> int:
    """Accounts deactivated before `cutoff`, neither held nor anonymised yet: anonymised one by one."""
    due = (
        User.objects.filter(is_active=False, deactivated_at__lt=cutoff)
        .exclude(pk__in=Anonymisation.objects.values("person"))
        .exclude(pk__in=RetentionHold.objects.open().values("person"))
        .order_by("deactivated_at", "pk")
    )
    count = 0
    for person in due.iterator():
        person_anonymise(person=person, by=None, via=Anonymisation.Via.RETENTION)
        count += 1
    return count


def _expired_sessions(cutoff: datetime.datetime) -> int:
    return Session.objects.filter(expire_date__lt=cutoff).delete()[0]


RULES = [
    Rule(
        key="email_bodies",
        title="Email bodies in the outbox",
        setting="RETENTION_EMAIL_BODY_DAYS",
        unit="days",
        what_happens="the text and link of each notification sent, and any sending error, are emptied; "
        "the row (who, when, subject, state) and its Message-ID stay",
        apply=_email_bodies,
    ),
    Rule(
        key="report_links",
        title="Report links",
        setting="RETENTION_REPORT_LINK_DAYS",
        unit="days",
        what_happens="the address a link was sent to and its secret are removed; the row stays, so a report "
        "made through it still says it came from an email link",
        apply=_report_links,
    ),
    Rule(
        key="security_log",
        title="Security log",
        setting="RETENTION_SECURITY_LOG_MONTHS",
        unit="months",
        what_happens="its lines (sign-ins, failures, lock-outs, password and two-step changes) and "
        "django-axes' sign-in records are deleted",
        apply=_security_log,
    ),
    Rule(
        key="access_log",
        title="Access log",
        setting="RETENTION_ACCESS_LOG_MONTHS",
        unit="months",
        what_happens="its entries are deleted",
        apply=_access_log,
    ),
    Rule(
        key="deactivated_accounts",
        title="Deactivated accounts",
        setting="RETENTION_DEACTIVATED_ACCOUNT_MONTHS",
        unit="months",
        what_happens="the account is anonymised (counted from its deactivation), unless the secretariat holds it",
        apply=_deactivated_accounts,
    ),
    Rule(
        key="expired_sessions",
        title="Sessions",
        setting=None,
        unit="",
        what_happens="deleted once expired (at most 12 hours after sign-in)",
        apply=_expired_sessions,
    ),
]


def schedule(now: datetime.datetime | None = None) -> list[tuple[Rule, int | None, datetime.datetime | None]]:
    """[(rule, period or None, cutoff or None)] as set now."""
    now = now or timezone.now()
    return [(rule, rule.period(), rule.cutoff(now)) for rule in RULES]


def retention_apply(*, trigger: str, dry_run: bool = False, now: datetime.datetime | None = None) -> RetentionRun:
    """Apply every rule in one transaction (rolled back for a dry run); returns the RetentionRun it records."""
    now = now or timezone.now()
    removed = {}
    with transaction.atomic():
        for rule, _period, cutoff in schedule(now):
            if cutoff is not None:
                removed[rule.key] = rule.apply(cutoff)
        if any(removed.values()):
            data_changed()
        if dry_run:
            transaction.set_rollback(True)
    run = RetentionRun.objects.create(
        started_at=now,
        finished_at=timezone.now(),
        dry_run=dry_run,
        trigger=trigger,
        removed=removed,
        settings={rule.key: period for rule, period, _ in schedule(now)},
    )
    logger.info(
        "retention %s: %s",
        "dry run (nothing removed)" if dry_run else "run",
        ", ".join(f"{key}={count}" for key, count in removed.items()) or "every rule is off",
    )
    return run
