"""Messaging's rows: reminders, notifications and the choices about them, and the links to report without signing in.

The models moved here from `priorities` keep their tables (`Meta.db_table`: priorities_reminder ...), their
constraints and their indexes; only Django's record of which app owns them changed (migrations 0001 here and
priorities 0019). Reminders and notifications are rows of the email outbox (`tracker.outbox.OutboxRow`).
"""

from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from priorities.models import Action, Submission
from tracker.models import Organisation
from tracker.outbox import OutboxRow


class ReminderQuerySet(models.QuerySet["Reminder"]):
    def for_action_page(self) -> Self:
        """An action's reminders for its page, newest first (call it on `action.reminders`)."""
        return self.select_related("organisation").order_by("-created_at", "-pk")

    def for_organisation(self, organisation: Organisation) -> Self:
        """The reminders sent, pending or failed to an organisation's contacts, newest first."""
        return self.filter(organisation=organisation).select_related("action").order_by("-created_at", "-pk")

    def pending(self) -> Self:
        """Rows written but not yet sent (nor being sent)."""
        return self.filter(state=Reminder.State.PENDING)


class Reminder(OutboxRow):
    """One reminder owed to one recipient about one action's update cycle: written once, sent once.

    The unique constraint is what makes a reminder exactly-once: the daily job, a second run of it and
    a secretariat's "send now" all write the same row, and only a row's first send is made.
    """

    # How the plan's confirm page names rows that refer to an item (priorities.services._label).
    REFERENCE_LABEL = ("reminder", "reminders")

    class Kind(models.TextChoices):
        DUE_SOON = "due_soon", "Due soon"
        OVERDUE = "overdue", "Overdue"
        ESCALATION = "escalation", "Escalated to owner"
        WEEKLY_SUMMARY = "weekly_summary", "Weekly summary"
        MANUAL = "manual", "Sent by the secretariat"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # The organisation's submission was awaiting review when the row's turn came: nothing to remind.
        SKIPPED = "skipped", "Not sent: progress submitted"
        # The action was archived (or the objective or priority above it) before the row was sent.
        ARCHIVED = "archived", "Not sent: action archived"

    recipient_email = models.EmailField()
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reminders"
    )
    organisation = models.ForeignKey(
        "tracker.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders",
        help_text="The partner organisation the recipient reports for; blank for staff.",
    )
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    cycle = models.DateField(help_text="The due date the reminder is about (the Monday for a weekly summary).")
    sequence = models.PositiveSmallIntegerField(
        default=0, help_text="Which overdue reminder about this due date: 1, 2, 3 ... (0 for the other kinds)."
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ReminderQuerySet.as_manager()

    class Meta:
        db_table = "priorities_reminder"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient_email", "action", "cycle", "kind", "sequence"], name="unique_reminder_per_cycle"
            ),
            models.CheckConstraint(
                name="reminder_sent_has_sent_at",
                condition=~Q(state="sent") | Q(sent_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient_email} about {self.action.code} ({self.cycle})"


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_action_page(self) -> Self:
        """The notifications about an action, newest first (call it on `action.notifications`)."""
        return self.order_by("-created_at", "-pk")

    def pending(self) -> Self:
        """Rows written but not yet sent (nor being sent)."""
        return self.filter(state=Notification.State.PENDING)


class Notification(OutboxRow):
    """One email owed to one person about one event (a report submitted, a decision, a new link): sent once.

    The same outbox as reminders (tracker/outbox.py): the row is written in the transaction that
    made the event, under a unique key, and a task sends it after commit with a stable Message-ID.
    The subject and text are written with the row, so a resend is the same email.
    """

    # How the plan's confirm page names rows that refer to an item (priorities.services._label).
    REFERENCE_LABEL = ("email notification", "email notifications")

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "A partner reported progress or a value"
        DECIDED = "decided", "A decision on a report you submitted"
        LINK = "link", "A new link to report progress"

    class Delivery(models.TextChoices):
        NOW = "now", "As it happens"
        DIGEST = "digest", "In a daily digest"

    State = Reminder.State

    key = models.CharField(max_length=200, unique=True, help_text="The event and the recipient: written once.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.NOW)
    recipient_email = models.EmailField()
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    action = models.ForeignKey(Action, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications")
    subject = models.CharField(max_length=300)
    text = models.TextField(help_text="The email's paragraphs, written when the event happened.")
    link_url = models.CharField(max_length=500, blank=True)
    link_label = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        db_table = "priorities_notification"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="notification_sent_has_sent_at",
                condition=~Q(state="sent") | Q(sent_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient_email}: {self.subject}"


class NotificationPreference(models.Model):
    """How one person wants one kind of notification: as it happens (no row) or in a daily digest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_choices")
    kind = models.CharField(max_length=20, choices=Notification.Kind.choices)
    delivery = models.CharField(max_length=10, choices=Notification.Delivery.choices)

    class Meta:
        db_table = "priorities_notificationpreference"
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="unique_notification_choice_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_kind_display()} {self.get_delivery_display().lower()}"


class ReportLinkQuerySet(models.QuerySet["ReportLink"]):
    def for_action_page(self) -> Self:
        """The report links sent about an action, newest first (call it on `action.report_links`)."""
        return self.select_related("submission").order_by("-created_at", "-pk")


class ReportLink(models.Model):
    """A link in a reminder that lets one person report on one action once, without signing in.

    The URL carries a signature of (id, nonce); the row is what makes the limits checkable: it is used
    at most once, expires after VALID_FOR_DAYS or when a newer link for the same person and action is
    made (the next reminder, or "send me a new link"), and is void once the person is deactivated or
    their organisation no longer partners the action.
    """

    # How the plan's confirm page names rows that refer to an item (priorities.services._label).
    REFERENCE_LABEL = ("report link sent by email", "report links sent by email")

    VALID_FOR_DAYS = 14

    class Origin(models.TextChoices):
        REMINDER = "reminder", "In a reminder"
        RENEWAL = "renewal", "Asked for a new link"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="report_links")
    recipient_email = models.EmailField()
    recipient_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey("tracker.Organisation", on_delete=models.CASCADE, related_name="+")
    reminder = models.OneToOneField(
        Reminder, on_delete=models.SET_NULL, null=True, blank=True, related_name="report_link"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.REMINDER)
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    submission = models.OneToOneField(
        Submission, on_delete=models.SET_NULL, null=True, blank=True, related_name="report_link"
    )

    objects = ReportLinkQuerySet.as_manager()

    class Meta:
        db_table = "priorities_reportlink"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient_email", "action", "created_at"], name="report_link_person_action")]

    def __str__(self) -> str:
        return f"Report link for {self.action.code} to {self.recipient_email}"
