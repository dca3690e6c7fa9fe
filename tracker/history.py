"""One change-record base for every history: who changed which field, when, where, from what to what.

Each app's history model (an action's, the plan outline's, an indicator's) subclasses `ChangeRecord`, adds
the columns that say what the change was about, and offers `about(...)` returning a `ChangeSubject`: the
history model and those columns' values. `record_changes` is the one service that writes such rows.
The rows are written only by services, in the writing service's transaction.
"""

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from .models import User


def changed_by_field(related_name: str) -> "models.ForeignKey[User | None, User | None]":
    """A history's `changed_by`: the person who made the change (None: nobody, e.g. a command).

    Each history names its own reverse accessor (`user.action_changes`, ...), so the base cannot hold it.
    """
    return models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name=related_name)


class ChangeRecord(models.Model):
    """One field of something changed: who, when, where (web, admin, import, command), old and new value.

    A subclass adds `changed_by = changed_by_field("<its reverse name>")` and its subject's columns.
    """

    field = models.CharField(max_length=50)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    via = models.CharField(
        max_length=20, default="web", help_text="Where the change was made: web, admin, import, command."
    )

    # The field names' labels for the history pages; a field not listed is shown by its name.
    FIELD_LABELS: ClassVar[Mapping[str, str]] = {}

    class Meta:
        abstract = True
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject_label()} {self.field}: {self.old_value!r} → {self.new_value!r}"

    def subject_label(self) -> str:
        """What changed, as the row's text shows it (the action's code, the item's or measure's name)."""
        raise NotImplementedError

    @property
    def field_label(self) -> str:
        return self.FIELD_LABELS.get(self.field, self.field.replace("_", " ").capitalize())


R = TypeVar("R", bound=ChangeRecord)


@dataclasses.dataclass(frozen=True)
class ChangeSubject(Generic[R]):
    """What a change is about: the history model that records it and the values of its subject's columns."""

    history: type[R]
    columns: Mapping[str, Any]


def record_changes(
    *,
    subject: ChangeSubject[R] | Sequence[ChangeSubject[R]],
    before: Mapping[str, str] | Sequence[Mapping[str, str]],
    after: Mapping[str, str] | Sequence[Mapping[str, str]],
    by: User | None,
    via: str,
    at: datetime.datetime | None = None,
    batch_size: int | None = None,
) -> list[R]:
    """Write one history row for each field in `after` (the values as shown), its old value from `before`.

    `subject` may be several subjects of one history model, written in one insert (an import's rows, the
    actions an objective's archiving hid); then `before` and `after` are either one mapping for all of
    them or one mapping per subject, in the same order.
    The caller decides which fields changed (it compares the values themselves, not as shown); a field
    missing from `before` had no value (a creation). All rows carry the same time, `at` or now. Written
    with one bulk insert, so no signal is sent: the caller saves the changed row itself, which is
    what the caches watch. Returns the rows written, in the order of `after`.
    """
    at = at or timezone.now()
    subjects = [subject] if isinstance(subject, ChangeSubject) else list(subject)
    if not subjects:
        return []
    history = subjects[0].history
    befores = [before] * len(subjects) if isinstance(before, Mapping) else list(before)
    afters = [after] * len(subjects) if isinstance(after, Mapping) else list(after)
    rows = [
        history(
            **one.columns,
            field=field,
            old_value=old.get(field, ""),
            new_value=new,
            changed_by=by,
            changed_at=at,
            via=via,
        )
        for one, old, new_values in zip(subjects, befores, afters, strict=True)
        for field, new in new_values.items()
    ]
    return history._default_manager.bulk_create(rows, batch_size=batch_size)
