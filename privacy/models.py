from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class RetentionHoldQuerySet(models.QuerySet["RetentionHold"]):
    def open(self) -> "RetentionHoldQuerySet":
        return self.filter(released_at__isnull=True)


class RetentionHold(models.Model):
    """The secretariat keeps a person's account from being anonymised by the retention schedule (a legal hold).

    Open while `released_at` is empty; releasing keeps the row, so who held it, when and why stays known.
    A held person cannot be anonymised by hand either: release the hold first.
    """

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="retention_holds")
    reason = models.TextField(max_length=1000)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    objects = RetentionHoldQuerySet.as_manager()

    class Meta:
        ordering = ["-set_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"], condition=Q(released_at__isnull=True), name="one_open_retention_hold_per_person"
            ),
            models.CheckConstraint(
                name="retention_hold_release_is_complete",
                condition=Q(released_at__isnull=True, released_by__isnull=True)
                | Q(released_at__isnull=False, released_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Hold on {self.person} since {self.set_at:%d %b %Y}"


class Anonymisation(models.Model):
    """A person anonymised: when, by whom (or by the retention schedule), what was removed or renamed."""

    class Via(models.TextChoices):
        SECRETARIAT = "secretariat", "By the secretariat"
        RETENTION = "retention", "By the retention schedule"

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="anonymisation")
    done_at = models.DateTimeField(default=timezone.now, db_index=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    via = models.CharField(max_length=20, choices=Via.choices)
    changed = models.JSONField(default=dict, help_text="What was removed or renamed, with how many rows.")

    class Meta:
        ordering = ["-done_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.person} anonymised {self.done_at:%d %b %Y}"

    def get_absolute_url(self) -> str:
        return reverse("privacy:anonymised", kwargs={"user_id": self.person_id})


class RemainingMention(models.Model):
    """A text that still named the person when they were anonymised (a note they wrote about themselves):
    written by people, so not rewritten automatically; listed for the secretariat to edit or keep.

    It says where (model, row, column), never what: the old name is kept nowhere.
    """

    class Outcome(models.TextChoices):
        EDITED = "edited", "Edited"
        KEPT = "kept", "Kept as it is"

    anonymisation = models.ForeignKey(Anonymisation, on_delete=models.CASCADE, related_name="mentions")
    model = models.CharField(max_length=100, help_text="app_label.ModelName")
    object_pk = models.CharField(max_length=64)
    field = models.CharField(max_length=100)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["model", "field", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["anonymisation", "model", "object_pk", "field"], name="one_mention_per_cell"
            ),
            models.CheckConstraint(
                name="remaining_mention_resolution_is_complete",
                condition=Q(outcome="", resolved_by__isnull=True, resolved_at__isnull=True)
                | (~Q(outcome="") & Q(resolved_by__isnull=False, resolved_at__isnull=False)),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} #{self.object_pk} {self.field}"


class RetentionRun(models.Model):
    """One run of the retention schedule (the daily job or the command), and what it removed.

    A dry run does everything a real run does and then rolls it back; its row is written afterwards.
    """

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "The daily job"
        COMMAND = "command", "The apply_retention command"

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    removed = models.JSONField(default=dict, help_text="{rule: rows removed, emptied or anonymised}")
    settings = models.JSONField(default=dict, help_text="The schedule as it was set for this run.")

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"Retention {'dry run' if self.dry_run else 'run'} {self.started_at:%d %b %Y %H:%M}"

    @property
    def total(self) -> int:
        return sum(self.removed.values())
