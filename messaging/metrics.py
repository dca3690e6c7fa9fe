"""The email outbox in Prometheus: how many emails wait, and how long the oldest has waited (read at scrape time).

Registered with tracker.metrics in MessagingConfig.ready(). Two queries per scrape, one per outbox table,
each over the rows not yet sent (the `state` index), never over the sent ones, however many there are.
"""

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from .models import Notification, Reminder

UNSENT = (Reminder.State.PENDING, Reminder.State.SENDING)
COUNTED = (*UNSENT, Reminder.State.FAILED)


def _outbox(notification_delivery: str) -> str:
    # Digest notifications wait for the daily digest by design: their own series, so an alert on the
    # age of the oldest email sent "as it happens" is not set off every day.
    return "notification_digests" if notification_delivery == Notification.Delivery.DIGEST else "notifications"


class OutboxCollector:
    """plan_tracker_outbox_emails{outbox, state} and plan_tracker_outbox_oldest_unsent_seconds{outbox}."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        counts: dict[tuple[str, str], int] = {}  # (outbox, state) -> n
        oldest: dict = {}  # outbox -> the oldest created_at of a pending or sending row
        rows = [
            ("reminders", row)
            for row in Reminder.objects.filter(state__in=COUNTED)
            .order_by()
            .values("state")
            .annotate(n=Count("pk"), oldest=Min("created_at"))
        ]
        rows += [
            (_outbox(row["delivery"]), row)
            for row in Notification.objects.filter(state__in=COUNTED)
            .order_by()
            .values("state", "delivery")
            .annotate(n=Count("pk"), oldest=Min("created_at"))
        ]
        for outbox, row in rows:
            counts[outbox, row["state"]] = counts.get((outbox, row["state"]), 0) + row["n"]
            if row["state"] in UNSENT and (outbox not in oldest or row["oldest"] < oldest[outbox]):
                oldest[outbox] = row["oldest"]
        emails = GaugeMetricFamily(
            "plan_tracker_outbox_emails",
            "Emails in the outbox not yet sent (pending, sending) or given up on (failed after 5 attempts).",
            labels=["outbox", "state"],
        )
        age = GaugeMetricFamily(
            "plan_tracker_outbox_oldest_unsent_seconds",
            "How long the oldest email not yet sent has waited (0 when none waits).",
            labels=["outbox"],
        )
        for outbox in ("reminders", "notifications", "notification_digests"):
            for state in COUNTED:
                emails.add_metric([outbox, state], counts.get((outbox, state), 0))
            age.add_metric([outbox], (now - oldest[outbox]).total_seconds() if outbox in oldest else 0)
        yield emails
        yield age
