"""Every write to the plan goes through these functions (views, commands and tasks call them)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import Action, ActionChange, ActionPartner, ProgressUpdate, Status, UpdateFrequency
from .scheduling import next_due_date

NOTE_MAX_LENGTH = 5000


class StaleActionError(Exception):
    """Someone else saved the action after this user opened it."""

    def __init__(self, action):
        super().__init__(f"Action {action.code} was changed by someone else.")
        self.action = action


def action_next_update_due(*, action, last_update_at=None):
    """The date the action's next progress update falls due."""
    plan = action.objective.priority.plan
    last_on = timezone.localdate(last_update_at) if last_update_at else None
    return next_due_date(
        frequency_months=action.update_frequency,
        last_update_on=last_on,
        action_start=action.start_date,
        plan_start=plan.start_date,
    )


def _lock(action):
    """The action's row, locked until the transaction ends (PostgreSQL; SQLite locks the database)."""
    return (
        Action.objects.select_for_update(of=("self",))
        .select_related("objective__priority__plan", "owner")
        .get(pk=action.pk)
    )


def validate_update(*, action, status, note):
    """The rules every progress update obeys, whoever records it."""
    errors = {}
    if status not in Status.values:
        errors["status"] = "Select a valid status."
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        errors["note"] = f"The note must be {NOTE_MAX_LENGTH:,} characters or fewer."
    elif not note:
        if status in (Status.AT_RISK, Status.OFF_TRACK):
            errors["note"] = "Explain why the action is at risk or off track."
        elif status != action.status:
            errors["note"] = "Explain the change of status."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def action_record_update(
    *,
    action,
    status,
    note,
    by,
    evidence_url="",
    organisation=None,
    expected_version=None,
    at=None,
    is_demo=False,
    via="web",
):
    """Record a progress update and make its status the action's status; refuses a stale version."""
    locked = _lock(action)
    if expected_version is not None and locked.version != expected_version:
        raise StaleActionError(locked)
    validate_update(action=locked, status=status, note=note)
    update = ProgressUpdate(
        action=locked,
        status=status,
        previous_status=locked.status,
        note=(note or "").strip(),
        evidence_url=evidence_url or "",
        author=by,
        organisation=organisation,
        created_at=at or timezone.now(),
        is_demo=is_demo,
    )
    update.full_clean()
    update.save()
    if locked.status != status:
        ActionChange.objects.create(
            action=locked,
            field="status",
            old_value=Status(locked.status).label,
            new_value=Status(status).label,
            changed_by=by,
            changed_at=update.created_at,
            via=via,
        )
    locked.status = status
    locked.last_update = update
    locked.next_update_due = action_next_update_due(action=locked, last_update_at=update.created_at)
    locked.version += 1
    locked.save(update_fields=["status", "last_update", "next_update_due", "version", "updated_at"])
    action.refresh_from_db()
    return update


def _display(field, value):
    if value is None or value == "":
        return ""
    if field == "update_frequency":
        return UpdateFrequency(value).label
    if field in ("start_date", "target_date"):
        return value.strftime("%-d %B %Y")
    return str(value)


def _partners_display(pairs):
    return "; ".join(f"{name} ({role})" for name, role in sorted(pairs))


DETAIL_FIELDS = ("title", "owner", "start_date", "target_date", "update_frequency")


@transaction.atomic
def action_update_details(*, action, by, expected_version=None, partners=None, via="web", **changes):
    """Change an action's title, owner, dates, frequency or partners, recording each change.

    `partners` is a list of (organisation, role) pairs replacing the current ones; None leaves them.
    Refuses with StaleActionError when the action was saved since `expected_version` was read.
    """
    unknown = set(changes) - set(DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"Not an editable action field: {', '.join(sorted(unknown))}")
    locked = _lock(action)
    if expected_version is not None and locked.version != expected_version:
        raise StaleActionError(locked)
    now = timezone.now()
    records = []
    for field, new in changes.items():
        old = getattr(locked, field)
        if old != new:
            records.append(
                ActionChange(
                    action=locked,
                    field=field,
                    old_value=_display(field, old),
                    new_value=_display(field, new),
                    changed_by=by,
                    changed_at=now,
                    via=via,
                )
            )
            setattr(locked, field, new)
    if partners is not None:
        current = {p.organisation_id: p for p in locked.partnerships.select_related("organisation")}
        wanted = {org.pk: (org, role) for org, role in partners}
        old_pairs = [(p.organisation.name, p.role) for p in current.values()]
        new_pairs = [(org.name, role) for org, role in wanted.values()]
        if sorted(old_pairs) != sorted(new_pairs):
            ActionPartner.objects.filter(action=locked).exclude(organisation_id__in=wanted).delete()
            for org, role in wanted.values():
                ActionPartner.objects.update_or_create(action=locked, organisation=org, defaults={"role": role})
            records.append(
                ActionChange(
                    action=locked,
                    field="partners",
                    old_value=_partners_display(old_pairs),
                    new_value=_partners_display(new_pairs),
                    changed_by=by,
                    changed_at=now,
                    via=via,
                )
            )
    if not records:
        return []
    locked.full_clean(exclude=["objective", "last_update", "owner"])
    last_at = locked.last_update.created_at if locked.last_update_id else None
    locked.next_update_due = action_next_update_due(action=locked, last_update_at=last_at)
    locked.version += 1
    locked.save()
    ActionChange.objects.bulk_create(records)
    action.refresh_from_db()
    return records
