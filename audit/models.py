import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from tracker.access import Kind
from tracker.models import User


class AccessEventQuerySet(models.QuerySet["AccessEvent"]):
    def for_log(self) -> "AccessEventQuerySet":
        """The access log's rows, newest first, with who and whose data (a fixed number of queries a page)."""
        return self.select_related("user", "organisation", "subject").order_by("-at", "-pk")

    def older_than(self, moment: datetime.datetime) -> "AccessEventQuerySet":
        return self.filter(at__lt=moment)


class AccessEvent(models.Model):
    """One access to the product's data: who, when, what, from where, how many rows. Append-only.

    Written only by audit.services (from tracker.access's signal and Django's sign-in signal); nothing in
    the product or the admin edits or deletes a row. Retention removes rows past their time (privacy app),
    and anonymising a person replaces their name where an address recorded it (a search for them).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="who"
    )
    role = models.CharField(max_length=20, choices=User.Role.choices, blank=True, help_text="Their role at the time.")
    organisation = models.ForeignKey(
        "tracker.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Their organisation at the time.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    what = models.CharField(max_length=300)
    path = models.CharField("address", max_length=2000, blank=True, help_text="What was asked for, with its query.")
    client = models.CharField("from", max_length=100, blank=True, help_text="The client's address.")
    rows = models.PositiveIntegerField(null=True, blank=True, help_text="Rows sent, for a download.")
    complete = models.BooleanField(default=True, help_text="False: the client broke the download off.")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="whose data",
        help_text="For a person's data: whose.",
    )

    objects = AccessEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "at"], name="access_event_user_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.what} ({self.at:%d %b %Y %H:%M})"


class SecurityEvent(models.Model):
    """One line of the security log (tracker.security), kept: sign-ins, failures, lock-outs, refusals, changes
    to passwords and second steps. Append-only, like AccessEvent; retention removes old rows."""

    class Level(models.TextChoices):
        INFO = "info", "Information"
        WARNING = "warning", "Warning"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    level = models.CharField(max_length=10, choices=Level.choices)
    message = models.TextField(help_text="The line as the security log wrote it.")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    username = models.CharField(max_length=255, blank=True, db_index=True, help_text="As given, for a failure.")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%d %b %Y %H:%M} {self.message[:100]}"
