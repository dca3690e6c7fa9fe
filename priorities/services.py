"""Every write to the plan goes through these functions (views, the admin, commands and tasks call them)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Manager, Model, Q, QuerySet
from django.utils import timezone

from tracker.caching import data_changed
from tracker.history import record_changes
from tracker.models import Organisation, User
from tracker.services import unique_slug

from .counts import objective_status_recount, partnership_reported
from .models import (
    Action,
    ActionChange,
    ActionPartner,
    ActionQuerySet,
    ArchiveDecision,
    Objective,
    Plan,
    PlanChange,
    PlanChoice,
    PlanPublication,
    Priority,
    ProgressUpdate,
    Status,
    Submission,
    UpdateFrequency,
    code_sort_key,
)
from .scheduling import next_due_date
from .signals import actions_archived, progress_decided, progress_submitted

NOTE_MAX_LENGTH = 5000
DETAIL_FIELDS = ("title", "description", "public_summary", "owner", "start_date", "target_date", "update_frequency")
# Where the action sits in the plan: changed from the secretariat's edit form (the admin keeps them fixed).
PLACE_FIELDS = ("code", "objective")
PUBLIC_SUMMARY_MAX_LENGTH = 1000


class StaleActionError(Exception):
    """Someone else saved the action after this user opened it."""

    def __init__(self, action: Action, seen_version: int) -> None:
        super().__init__(f"Action {action.code} was changed by someone else.")
        self.action = action
        self.seen_version = seen_version

    @property
    def changes(self) -> list[ActionChange]:
        """What others changed since `seen_version`, oldest first."""
        return list(
            ActionChange.objects.filter(action=self.action, action_version__gt=self.seen_version)
            .select_related("changed_by")
            .order_by("changed_at", "pk")
        )

    @property
    def updates(self) -> list[ProgressUpdate]:
        return list(
            ProgressUpdate.objects.filter(action=self.action, action_version__gt=self.seen_version)
            .select_related("author", "organisation")
            .order_by("created_at", "pk")
        )


def _lock(action: Action, expected_version: int | None = None) -> Action:
    """The action's row, locked until the transaction ends; refuses a stale `expected_version`."""
    locked = (
        Action.objects.select_for_update(of=("self",))
        .select_related("objective__priority__plan", "owner", "last_update")
        .get(pk=action.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleActionError(locked, expected_version)
    return locked


def action_next_update_due(*, action: Action, last_update_at: datetime.datetime | None = None) -> datetime.date | None:
    """The date the action's next progress update falls due (None without a frequency or a start)."""
    plan = action.objective.priority.plan
    last_on = timezone.localdate(last_update_at) if last_update_at else None
    return next_due_date(
        frequency_months=action.update_frequency,
        last_update_on=last_on,
        action_start=action.start_date,
        plan_start=plan.start_date,
    )


def validate_update(*, action: Action, status: str, note: str | None) -> None:
    """The rules every progress update obeys, whoever records it."""
    errors: dict[str, str] = {}
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


def _save_new_version(action: Action, *, fields: Iterable[str]) -> None:
    action.version += 1
    action.save(update_fields=[*fields, "version", "updated_at"])


@transaction.atomic
def action_record_update(
    *,
    action: Action,
    status: str,
    note: str | None,
    by: User | None,
    evidence_url: str | None = "",
    organisation: Organisation | None = None,
    accepted_by: User | None = None,
    expected_version: int | None = None,
    at: datetime.datetime | None = None,
    is_demo: bool = False,
    is_public: bool = False,
    via: str = "web",
) -> ProgressUpdate:
    """Record a progress update and make its status the action's status; refuses a stale version.

    `is_public` shows the update (status, date, note) on the public pages once the plan is published.
    """
    locked = _lock(action, expected_version)
    if locked.archived_with is not None:
        raise ValidationError("This action is archived: restore it to record progress.")
    validate_update(action=locked, status=status, note=note)
    new_version = locked.version + 1
    update = ProgressUpdate(
        action=locked,
        status=status,
        previous_status=locked.status,
        note=(note or "").strip(),
        evidence_url=evidence_url or "",
        author=by,
        organisation=organisation,
        accepted_by=accepted_by,
        created_at=at or timezone.now(),
        action_version=new_version,
        is_demo=is_demo,
        is_public=is_public,
    )
    update.full_clean()
    update.save()
    if organisation is not None:
        partnership_reported(action=locked, organisation=organisation, at=update.created_at)
    if locked.status != status:
        record_changes(
            subject=ActionChange.about(locked, version=new_version),
            before={"status": Status(locked.status).label},
            after={"status": Status(status).label},
            by=accepted_by or by,
            via=via,
            at=update.created_at,
        )
    locked.status = status
    locked.last_update = update
    locked.next_update_due = action_next_update_due(action=locked, last_update_at=update.created_at)
    _save_new_version(locked, fields=["status", "last_update", "next_update_due"])
    if update.previous_status != status:
        objective_status_recount(objective_ids=[locked.objective_id])
    action.refresh_from_db()
    return update


def _display(field: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if field == "update_frequency":
        return UpdateFrequency(value).label
    if field in ("start_date", "target_date"):
        return value.strftime("%-d %B %Y")
    if field == "objective":
        return f"{value.code} {value.title}"
    return str(value)


def _partners_display(pairs: Iterable[tuple[str, str]]) -> str:
    return "; ".join(f"{name} ({role})" for name, role in sorted(pairs))


@transaction.atomic
def action_update_details(
    *,
    action: Action,
    by: User | None,
    expected_version: int | None = None,
    partners: Iterable[tuple[Organisation, str]] | None = None,
    via: str = "web",
    **changes: Any,
) -> list[ActionChange]:
    """Change an action's details or partners, recording each change; refuses a stale version.

    `changes` may hold any of DETAIL_FIELDS and PLACE_FIELDS (a new code, or another objective of the
    same plan); `partners` is a list of (organisation, role) pairs that replaces the current ones (None
    leaves them as they are). Returns the ActionChange rows written.
    """
    unknown = set(changes) - set(DETAIL_FIELDS) - set(PLACE_FIELDS)
    if unknown:
        raise TypeError(f"Not an editable action field: {', '.join(sorted(unknown))}")
    locked = _lock(action, expected_version)
    old_objective_id = locked.objective_id
    if "code" in changes or "objective" in changes:
        _check_action_place(action=locked, changes=changes)
    before: dict[str, str] = {}
    after: dict[str, str] = {}

    def record(field: str, old: str, new: str) -> None:
        before[field], after[field] = old, new

    if "public_summary" in changes:
        changes["public_summary"] = (changes["public_summary"] or "").strip()
        # TextField does not enforce max_length itself.
        if len(changes["public_summary"]) > PUBLIC_SUMMARY_MAX_LENGTH:
            raise ValidationError(
                {"public_summary": f"The public summary must be {PUBLIC_SUMMARY_MAX_LENGTH:,} characters or fewer."}
            )
    for field, new in changes.items():
        old = getattr(locked, field)
        if old != new:
            record(field, _display(field, old), _display(field, new))
            setattr(locked, field, new)
    if partners is not None:
        wanted = {org.pk: (org, role) for org, role in partners}
        current = list(locked.partnerships.select_related("organisation"))
        old_pairs = sorted((p.organisation.name, p.role) for p in current)
        new_pairs = sorted((org.name, role) for org, role in wanted.values())
        if old_pairs != new_pairs:
            ActionPartner.objects.filter(action=locked).exclude(organisation_id__in=wanted).delete()
            added = []
            for org, role in wanted.values():
                _, created = ActionPartner.objects.update_or_create(
                    action=locked, organisation=org, defaults={"role": role}
                )
                if created:
                    added.append(org.pk)
            # An organisation partnered again keeps the reports it made before.
            ActionPartner.objects.filter(action=locked, organisation_id__in=added).refresh_last_reported()
            record("partners", _partners_display(old_pairs), _partners_display(new_pairs))
    if not after:
        return []
    locked.full_clean(exclude=["objective", "last_update", "owner"])
    last_update = locked.last_update if locked.last_update_id else None
    last_at = last_update.created_at if last_update is not None else None
    locked.next_update_due = action_next_update_due(action=locked, last_update_at=last_at)
    # Action.save() keeps sort_key in step with the code; it must be saved with it.
    sort_key = ["sort_key"] if "code" in changes else []
    _save_new_version(locked, fields=[*changes.keys(), *sort_key, "next_update_due"])
    records = record_changes(subject=ActionChange.about(locked), before=before, after=after, by=by, via=via)
    if locked.objective_id != old_objective_id:  # moved: both objectives' stored counts change
        objective_status_recount(objective_ids=[old_objective_id, locked.objective_id])
    action.refresh_from_db()
    return records


@transaction.atomic
def action_create(
    *,
    objective: Objective,
    code: str,
    title: str,
    description: str,
    by: User | None,
    via: str = "web",
    recount: bool = True,
    **details: Any,
) -> Action:
    """Add an action to an objective, recording its creation.

    `recount=False` leaves the objective's stored status counts to the caller: an import adding
    thousands of actions counts each objective once at the end, not once per action.
    """
    action = Action(objective=objective, code=code, title=title, description=description, **details)
    action.full_clean()
    action.save()
    record_changes(subject=ActionChange.about(action), before={}, after={"created": str(action)}, by=by, via=via)
    if action.update_frequency:
        action.next_update_due = action_next_update_due(action=action)
        action.save(update_fields=["next_update_due"])
    if recount:
        objective_status_recount(objective_ids=[action.objective_id])
    return action


@transaction.atomic
def stored_counts_refresh() -> None:
    """Set every stored count from the rows themselves: after writes that bypass the services (loaddata).

    Each partnership's last report (ActionPartnerQuerySet.refresh_last_reported) and the actions per
    objective and status (ObjectiveStatusCountQuerySet.recount).
    """
    ActionPartner.objects.refresh_last_reported()
    objective_status_recount(objective_ids=Objective.objects.values_list("pk", flat=True))


@transaction.atomic
def actions_delete(*, actions: QuerySet[Action]) -> int:
    """Delete actions (the admin's delete) and count their objectives' statuses again."""
    objective_ids = set(actions.values_list("objective_id", flat=True))
    deleted, _ = actions.delete()
    objective_status_recount(objective_ids=objective_ids)
    return deleted


class AlreadyDecidedError(Exception):
    """The submission was accepted or returned by someone else first."""

    def __init__(self, submission: Any) -> None:
        who = submission.decided_by or "someone else"
        super().__init__(
            f"This submission was already {submission.get_state_display().lower()} by {who} "
            f"on {timezone.localtime(submission.decided_at):%-d %B %Y at %H:%M}."
        )
        self.submission = submission


# The review steps both kinds of partner report share (progress here, indicator values in
# indicators.services): lock the report while it still waits, check a return's reason, record the decision.


def lock_pending(queryset: QuerySet[Any] | Manager[Any], submission: Any) -> Any:
    """`submission` from `queryset`, locked for a decision; AlreadyDecidedError if someone decided first."""
    locked = queryset.select_for_update(of=("self",)).select_related("decided_by").get(pk=submission.pk)
    if locked.state != locked.State.SUBMITTED:
        raise AlreadyDecidedError(locked)
    return locked


def clean_return_reason(reason: str | None, what: str) -> str:
    """The reason for returning `what` ("the submission", "the value"), stripped; refused if empty or too long."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"Say why {what} is returned, so the partner can answer it."})
    if len(reason) > NOTE_MAX_LENGTH:
        raise ValidationError({"reason": f"The reason must be {NOTE_MAX_LENGTH:,} characters or fewer."})
    if "\x00" in reason:  # PostgreSQL cannot store it (a 500); no person types it
        raise ValidationError({"reason": "The reason holds a NUL character: type it again."})
    return reason


def record_decision(locked: Any, *, by: User, state: str, **fields: Any) -> None:
    """Save the decision on a locked report: its new state, who decided and when, and `fields`."""
    locked.state = state
    locked.decided_by = by
    locked.decided_at = timezone.now()
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["state", "decided_by", "decided_at", *fields])


@transaction.atomic
def submission_create(
    *,
    action: Action,
    by: User,
    status: str,
    note: str | None,
    evidence_url: str | None = "",
    via_link_to: str = "",
    via_api_token: str = "",
) -> Submission:
    """A partner user proposes a progress update on one of their organisation's actions.

    `via_link_to`: the address of the reminder whose link it came through (messaging.report_links);
    `via_api_token`: the name of the access token it came through (the API).
    """
    if not Action.objects.visible_to(by).filter(pk=action.pk).exists() or by.role != by.Role.PARTNER:
        raise PermissionDenied("Only a partner of this action can submit progress on it.")
    if not Action.objects.live().filter(pk=action.pk).exists():
        raise ValidationError("This action is archived: it no longer takes progress reports.")
    validate_update(action=action, status=status, note=note)
    submission = Submission(
        action=action,
        organisation=by.organisation,
        submitted_by=by,
        status=status,
        note=(note or "").strip(),
        evidence_url=evidence_url or "",
    )
    submission.full_clean()
    submission.save()
    partnership_reported(action=action, organisation=by.organisation, at=submission.submitted_at)
    progress_submitted.send(
        sender=Submission, submission=submission, via_link_to=via_link_to, via_api_token=via_api_token
    )
    return submission


@transaction.atomic
def submission_accept(*, submission: Submission, by: User) -> ProgressUpdate:
    """Accept a partner's submission: it becomes an official update, reported by them, accepted by `by`."""
    locked = lock_pending(Submission.objects, submission)
    update = action_record_update(
        action=locked.action,
        status=locked.status,
        note=locked.note,
        evidence_url=locked.evidence_url,
        by=locked.submitted_by,
        organisation=locked.organisation,
        accepted_by=by,
        via="review",
    )
    record_decision(locked, by=by, state=Submission.State.ACCEPTED, progress_update=update)
    progress_decided.send(sender=Submission, submission=locked)
    submission.refresh_from_db()
    return update


@transaction.atomic
def submission_return(*, submission: Submission, by: User, reason: str | None) -> Submission:
    """Send a submission back to the partner with a reason they can answer."""
    reason = clean_return_reason(reason, "the submission")
    locked = lock_pending(Submission.objects, submission)
    record_decision(locked, by=by, state=Submission.State.RETURNED, return_reason=reason)
    progress_decided.send(sender=Submission, submission=locked)
    submission.refresh_from_db()
    return locked


@transaction.atomic
def progress_update_set_public(
    *, update: ProgressUpdate, public: bool, by: User | None, via: str = "web"
) -> ActionChange | None:
    """Show an update on the public pages or withdraw it, recording the choice in the action's history."""
    locked = ProgressUpdate.objects.select_for_update(of=("self",)).select_related("action").get(pk=update.pk)
    if locked.is_public == bool(public):
        return None
    locked.is_public = bool(public)
    locked.save(update_fields=["is_public"])
    when = f"{timezone.localtime(locked.created_at):%-d %B %Y %H:%M}"
    [change] = record_changes(
        subject=ActionChange.about(locked.action),
        before={"update_public": f"Update of {when}: {'public' if not public else 'not public'}"},
        after={"update_public": f"Update of {when}: {'public' if public else 'not public'}"},
        by=by,
        via=via,
    )
    update.refresh_from_db()
    return change


def _decide_publication(plan: Plan, *, published: bool, by: User | None) -> PlanPublication | None:
    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    if locked.is_published == published:
        return None
    now = timezone.now()
    locked.published_at = now if published else None
    locked.save(update_fields=["published_at", "updated_at"])
    decision = PlanPublication.objects.create(plan=locked, published=published, decided_by=by, decided_at=now)
    plan.refresh_from_db()
    return decision


@transaction.atomic
def plan_publish(*, plan: Plan, by: User) -> PlanPublication | None:
    """Publish the plan's public pages and open data (accepted, public items only); None if already published."""
    if by.role != by.Role.SECRETARIAT:
        raise PermissionDenied("Only the secretariat publishes the plan.")
    return _decide_publication(plan, published=True, by=by)


@transaction.atomic
def plan_unpublish(*, plan: Plan, by: User) -> PlanPublication | None:
    """Take the plan's public pages and open data down at once; None if it was not published."""
    if by.role != by.Role.SECRETARIAT:
        raise PermissionDenied("Only the secretariat unpublishes the plan.")
    return _decide_publication(plan, published=False, by=by)


# ---------------------------------------------------------------------------------------------------
# Building the plan: plans, priorities, objectives and new actions (issue 16). Each change of a plan,
# priority or objective is a PlanChange row (an action's are ActionChange rows), written in the same
# transaction. Codes are unique within a plan, checked with the plan's row locked, so two people
# adding the same code at once get a clear error instead of a database one.

PLAN_FIELDS = ("title", "organisation_name", "start_date", "end_date", "source_url")
PRIORITY_FIELDS = ("number", "title", "aim")
OBJECTIVE_FIELDS = ("code", "title")


def _lock_plan(plan_id: int) -> Plan:
    return Plan.objects.select_for_update().get(pk=plan_id)


def _plan_display(value: Any) -> str:
    if value is None or value == "":
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%-d %B %Y")
    return str(value)


def _clean_text(value: str | None) -> str:
    """Stripped text with browsers' CRLF line ends made LF, so an untouched textarea saves unchanged."""
    return (value or "").replace("\r\n", "\n").strip()


def _record_plan_changes(
    *,
    plan: Plan,
    kind: str,
    item: Model,
    label: str,
    old: dict[str, Any],
    new: dict[str, Any],
    by: User | None,
    via: str,
    at: datetime.datetime | None = None,
) -> list[PlanChange]:
    """PlanChange rows for the fields whose value, as the history shows it, differs between `old` and `new`
    (a new item's empty aim is not a change from nothing)."""
    changed = [field for field, value in new.items() if _plan_display(old.get(field)) != _plan_display(value)]
    return record_changes(
        subject=PlanChange.about(plan=plan, kind=kind, item=item, label=label),
        before={field: _plan_display(old.get(field)) for field in changed},
        after={field: _plan_display(new[field]) for field in changed},
        by=by,
        via=via,
        at=at,
    )


def _record_created(*, plan: Plan, kind: str, item: Model, label: str, by: User | None, via: str) -> PlanChange:
    [row] = record_changes(
        subject=PlanChange.about(plan=plan, kind=kind, item=item, label=label),
        before={},
        after={"created": label},
        by=by,
        via=via,
    )
    return row


def _check_plan_dates(plan: Plan) -> None:
    if plan.start_date and plan.end_date and plan.end_date < plan.start_date:
        raise ValidationError({"end_date": "The end date must be the same as or after the start date."})


def _refresh_due_dates(plan: Plan) -> None:
    """Recount every action's next update of the plan: an action without its own start counts from the plan's."""
    actions = list(
        Action.objects.filter(objective__priority__plan=plan).select_related("objective__priority__plan", "last_update")
    )
    for action in actions:
        last_update = action.last_update if action.last_update_id else None
        last_at = last_update.created_at if last_update is not None else None
        action.next_update_due = action_next_update_due(action=action, last_update_at=last_at)
    Action.objects.bulk_update(actions, ["next_update_due"], batch_size=500)
    data_changed()  # bulk_update sends no signals: cached pages must not outlive the new dates


@transaction.atomic
def plan_create(
    *,
    by: User | None,
    title: str,
    organisation_name: str = "",
    start_date: datetime.date | None = None,
    end_date: datetime.date | None = None,
    source_url: str = "",
    via: str = "web",
) -> Plan:
    """Start a new plan (not published), recording its creation and each value it starts with."""
    plan = Plan(
        title=_clean_text(title),
        organisation_name=_clean_text(organisation_name),
        start_date=start_date,
        end_date=end_date,
        source_url=source_url or "",
    )
    plan.slug = unique_slug(Plan, plan.title, "plan")
    _check_plan_dates(plan)
    plan.full_clean()
    plan.save()
    _record_created(plan=plan, kind=PlanChange.Kind.PLAN, item=plan, label=plan.title, by=by, via=via)
    _record_plan_changes(
        plan=plan,
        kind=PlanChange.Kind.PLAN,
        item=plan,
        label=plan.title,
        old={},
        new={f: getattr(plan, f) for f in PLAN_FIELDS if f != "title" and getattr(plan, f) not in (None, "")},
        by=by,
        via=via,
    )
    return plan


@transaction.atomic
def plan_update(*, plan: Plan, by: User | None, via: str = "web", **changes: Any) -> list[PlanChange]:
    """Change a plan's title, publisher, dates or source link, recording each change; returns the rows."""
    unknown = set(changes) - set(PLAN_FIELDS)
    if unknown:
        raise TypeError(f"Not an editable plan field: {', '.join(sorted(unknown))}")
    locked = _lock_plan(plan.pk)
    for field in ("title", "organisation_name"):
        if field in changes:
            changes[field] = _clean_text(changes[field])
    if "source_url" in changes:
        changes["source_url"] = changes["source_url"] or ""
    old = {field: getattr(locked, field) for field in changes}
    for field, value in changes.items():
        setattr(locked, field, value)
    changed = {field: value for field, value in changes.items() if old[field] != value}
    if not changed:
        return []
    _check_plan_dates(locked)
    locked.full_clean()
    locked.save(update_fields=[*changed, "updated_at"])
    rows = _record_plan_changes(
        plan=locked, kind=PlanChange.Kind.PLAN, item=locked, label=locked.title, old=old, new=changed, by=by, via=via
    )
    if "start_date" in changed:
        _refresh_due_dates(locked)
    plan.refresh_from_db()
    return rows


def _check_priority_number(priority: Priority) -> None:
    clash = Priority.objects.filter(plan_id=priority.plan_id, number=priority.number).exclude(pk=priority.pk)
    if priority.number is not None and clash.exists():
        raise ValidationError({"number": f"This plan already has a priority {priority.number}: choose another number."})


@transaction.atomic
def priority_create(
    *, plan: Plan, by: User | None, number: int, title: str, aim: str = "", via: str = "web"
) -> Priority:
    """Add a priority to a plan; its number is unique in the plan."""
    _lock_plan(plan.pk)
    priority = Priority(plan=plan, number=number, title=_clean_text(title), aim=_clean_text(aim))
    _check_priority_number(priority)
    priority.full_clean()
    priority.save()
    label = f"Priority {priority.number}"
    _record_created(plan=plan, kind=PlanChange.Kind.PRIORITY, item=priority, label=label, by=by, via=via)
    _record_plan_changes(
        plan=plan,
        kind=PlanChange.Kind.PRIORITY,
        item=priority,
        label=label,
        old={},
        new={"title": priority.title, "aim": priority.aim},
        by=by,
        via=via,
    )
    return priority


@transaction.atomic
def priority_update(*, priority: Priority, by: User | None, via: str = "web", **changes: Any) -> list[PlanChange]:
    """Change a priority's number, title or aim, recording each change; returns the rows."""
    unknown = set(changes) - set(PRIORITY_FIELDS)
    if unknown:
        raise TypeError(f"Not an editable priority field: {', '.join(sorted(unknown))}")
    plan = _lock_plan(priority.plan_id)
    locked = Priority.objects.get(pk=priority.pk)
    for field in ("title", "aim"):
        if field in changes:
            changes[field] = _clean_text(changes[field])
    old = {field: getattr(locked, field) for field in changes}
    label = f"Priority {locked.number}"
    for field, value in changes.items():
        setattr(locked, field, value)
    changed = {field: value for field, value in changes.items() if old[field] != value}
    if not changed:
        return []
    _check_priority_number(locked)
    locked.full_clean()
    locked.save(update_fields=list(changed))
    rows = _record_plan_changes(
        plan=plan, kind=PlanChange.Kind.PRIORITY, item=locked, label=label, old=old, new=changed, by=by, via=via
    )
    priority.refresh_from_db()
    return rows


def _clean_code(code: str | None) -> str:
    code = (code or "").strip()
    if not code:
        raise ValidationError({"code": "Enter the code, e.g. 5.1."})
    return code


def _check_objective_code(objective: Objective, plan_id: int) -> None:
    clash = (
        Objective.objects.filter(priority__plan_id=plan_id, code__iexact=objective.code)
        .exclude(pk=objective.pk)
        .select_related("priority")
        .first()
    )
    if clash:
        raise ValidationError(
            {"code": f"Objective {clash.code} already exists in priority {clash.priority.number}: choose another code."}
        )


@transaction.atomic
def objective_create(*, priority: Priority, by: User | None, code: str, title: str, via: str = "web") -> Objective:
    """Add an objective to a priority; its code is unique in the plan and sorts naturally (5.2 before 5.10)."""
    plan = _lock_plan(priority.plan_id)
    objective = Objective(priority=priority, code=_clean_code(code), title=_clean_text(title))
    _check_objective_code(objective, plan.pk)
    objective.full_clean(exclude=["sort_key"])
    objective.save()
    label = f"Objective {objective.code}"
    _record_created(plan=plan, kind=PlanChange.Kind.OBJECTIVE, item=objective, label=label, by=by, via=via)
    _record_plan_changes(
        plan=plan,
        kind=PlanChange.Kind.OBJECTIVE,
        item=objective,
        label=label,
        old={},
        new={"title": objective.title},
        by=by,
        via=via,
    )
    return objective


@transaction.atomic
def objective_update(*, objective: Objective, by: User | None, via: str = "web", **changes: Any) -> list[PlanChange]:
    """Change an objective's code or title, recording each change; returns the rows."""
    unknown = set(changes) - set(OBJECTIVE_FIELDS)
    if unknown:
        raise TypeError(f"Not an editable objective field: {', '.join(sorted(unknown))}")
    locked = Objective.objects.select_related("priority").get(pk=objective.pk)
    plan = _lock_plan(locked.priority.plan_id)
    if "code" in changes:
        changes["code"] = _clean_code(changes["code"])
    if "title" in changes:
        changes["title"] = _clean_text(changes["title"])
    old = {field: getattr(locked, field) for field in changes}
    label = f"Objective {locked.code}"
    for field, value in changes.items():
        setattr(locked, field, value)
    changed = {field: value for field, value in changes.items() if old[field] != value}
    if not changed:
        return []
    _check_objective_code(locked, plan.pk)
    locked.full_clean(exclude=["sort_key"])
    # Objective.save() recomputes sort_key from the code.
    locked.save(update_fields=[*changed, "sort_key"])
    rows = _record_plan_changes(
        plan=plan, kind=PlanChange.Kind.OBJECTIVE, item=locked, label=label, old=old, new=changed, by=by, via=via
    )
    objective.refresh_from_db()
    return rows


def _check_action_code(*, code: str, plan_id: int, exclude_pk: int | None = None) -> None:
    clash = Action.objects.filter(objective__priority__plan_id=plan_id, code__iexact=code).exclude(Q(pk=exclude_pk))
    if clash.exists():
        raise ValidationError({"code": f"Action {code} already exists in this plan: choose another code."})


def _check_action_place(*, action: Action, changes: dict[str, Any]) -> None:
    """A new code must be free in the plan; a new objective must be one of the same plan."""
    plan_id = action.objective.priority.plan_id
    _lock_plan(plan_id)
    objective = changes.get("objective")
    if objective is not None and objective.priority.plan_id != plan_id:
        raise ValidationError({"objective": "Choose an objective of the same plan."})
    if "code" in changes:
        changes["code"] = _clean_code(changes["code"])
        if changes["code"] != action.code:
            _check_action_code(code=changes["code"], plan_id=plan_id, exclude_pk=action.pk)


@transaction.atomic
def action_add(
    *,
    objective: Objective,
    by: User | None,
    code: str,
    title: str,
    description: str,
    partners: Iterable[tuple[Organisation, str]] = (),
    via: str = "web",
    **details: Any,
) -> Action:
    """Add an action to an objective with its partners; its code is unique in the plan.

    `details` may hold the other DETAIL_FIELDS; `partners` is a list of (organisation, role) pairs.
    The creation and the partners are recorded in the action's history.
    """
    plan = _lock_plan(objective.priority.plan_id)
    code = _clean_code(code)
    _check_action_code(code=code, plan_id=plan.pk)
    action = action_create(
        objective=objective,
        code=code,
        title=_clean_text(title),
        description=_clean_text(description),
        by=by,
        via=via,
        **details,
    )
    if partners:
        action_update_details(action=action, by=by, partners=list(partners), via=via)
    return action


# Archiving and deleting the plan's items (issue 16).
#
# An item anything refers to (updates, changes, submissions, reminders, links ...) is archived, never
# deleted: it leaves the register, the dashboard, reminders and the public pages, and its own pages and
# history stay readable. What an archived objective or priority hides is computed by the QuerySets
# (ActionQuerySet.live), never copied down. Only an item nothing refers to may be deleted.
# ---------------------------------------------------------------------------------------------------

# How the confirm page names what refers to an item: (one, many), by "app_label.model_name". A model of an
# app above this one names itself in a REFERENCE_LABEL attribute (the plan does not name its models).
REFERENCE_LABELS = {
    "priorities.progressupdate": ("progress update", "progress updates"),
    "priorities.actionchange": ("change in its history", "changes in its history"),
    "priorities.submission": ("submission from a partner", "submissions from partners"),
    "priorities.objective": ("objective", "objectives"),
    "priorities.action": ("action", "actions"),
    "priorities.archivedecision": ("archive decision in its history", "archive decisions in its history"),
}
# Part of an item's own definition, deleted with it: not a reference.
# Part of the item, or counts derived from it: not references that stop a delete.
NOT_REFERENCES = {"priorities.actionpartner", "priorities.objectivestatuscount"}


def _label(model: type[Model], n: int) -> str:
    key = model._meta.label_lower
    default = getattr(model, "REFERENCE_LABEL", (str(model._meta.verbose_name), str(model._meta.verbose_name_plural)))
    one, many = REFERENCE_LABELS.get(key, default)
    return f"{n:,} {one if n == 1 else many}"


def plan_item_references(*, item: Priority | Objective | Action) -> list[str]:
    """What refers to a priority, objective or action, in plain words ("3 progress updates"); [] if nothing.

    Every relation that points at the item counts (so one added later counts too), except its partners
    and the record of its creation, which are part of the item itself.
    """
    found = []
    for relation in type(item)._meta.related_objects:
        model = relation.related_model
        if model._meta.label_lower in NOT_REFERENCES:
            continue
        rows = model._base_manager.filter(**{relation.field.name: item})
        if model is ActionChange:
            rows = rows.exclude(field="created")
        n = rows.count()
        if n:
            found.append(_label(model, n))
    return found


def _require_secretariat(by: User | None) -> None:
    if by is None or by.role != by.Role.SECRETARIAT:
        raise PermissionDenied("Only the secretariat archives, restores or deletes the plan's items.")


def _refuse_pending_reviews(actions: QuerySet[Action] | list[int], what: str) -> None:
    """Archiving would hide progress still waiting for a decision: the secretariat decides it first."""
    codes = sorted(
        set(Submission.objects.pending().filter(action__in=actions).values_list("action__code", flat=True)),
        key=code_sort_key,
    )
    if codes:
        raise ValidationError(
            f"Progress submitted on {', '.join(codes)} awaits review: accept or return it before archiving {what}."
        )


def _record_hidden(
    actions: Iterable[Action], *, old: str, new: str, by: User | None, at: datetime.datetime, via: str
) -> None:
    """An ActionChange on each action an objective's or priority's decision hid or showed again."""
    record_changes(
        subject=[ActionChange.about(action) for action in actions],
        before={"archived": old},
        after={"archived": new},
        by=by,
        via=via,
        at=at,
    )


@transaction.atomic
def action_archive(*, action: Action, by: User | None, via: str = "web") -> ActionChange | None:
    """Archive an action: it leaves the live pages and reminders; None if it was archived already."""
    _require_secretariat(by)
    locked = _lock(action)
    if locked.archived_at:
        return None
    _refuse_pending_reviews([locked.pk], locked.code)
    now = timezone.now()
    locked.archived_at, locked.archived_by = now, by
    _save_new_version(locked, fields=["archived_at", "archived_by"])
    [change] = record_changes(
        subject=ActionChange.about(locked),
        before={"archived": "Live"},
        after={"archived": "Archived"},
        by=by,
        via=via,
        at=now,
    )
    actions_archived.send(sender=Action, action_ids=[locked.pk])
    objective_status_recount(objective_ids=[locked.objective_id])  # the dashboard counts live actions only
    action.refresh_from_db()
    return change


@transaction.atomic
def action_restore(*, action: Action, by: User | None, via: str = "web") -> ActionChange | None:
    """Bring an archived action back; None if it was not archived (an archived objective may still hide it)."""
    _require_secretariat(by)
    locked = _lock(action)
    if not locked.archived_at:
        return None
    locked.archived_at, locked.archived_by = None, None
    _save_new_version(locked, fields=["archived_at", "archived_by"])
    [change] = record_changes(
        subject=ActionChange.about(locked),
        before={"archived": "Archived"},
        after={"archived": "Live"},
        by=by,
        via=via,
    )
    objective_status_recount(objective_ids=[locked.objective_id])
    action.refresh_from_db()
    return change


def _decide_archive(
    item: Priority | Objective,
    *,
    archived: bool,
    by: User | None,
    via: str,
    actions: ActionQuerySet,
    label: str,
) -> ArchiveDecision | None:
    """Archive or restore a priority or objective (`actions`: its actions), logging the decision."""
    _require_secretariat(by)
    locked = type(item).objects.select_for_update().get(pk=item.pk)
    if locked.is_archived == archived:
        return None
    live_before = list(actions.live().order_by("pk"))
    if archived:
        _refuse_pending_reviews(actions.live(), label)
    now = timezone.now()
    locked.archived_at, locked.archived_by = (now, by) if archived else (None, None)
    locked.save(update_fields=["archived_at", "archived_by"])
    field = "priority" if isinstance(locked, Priority) else "objective"
    decision = ArchiveDecision.objects.create(**{field: locked}, archived=archived, decided_by=by, decided_at=now)
    if archived:
        _record_hidden(live_before, old="Live", new=f"Archived with {label}", by=by, at=now, via=via)
        actions_archived.send(sender=Action, action_ids=[a.pk for a in live_before])
    else:
        shown = [a for a in actions.live().order_by("pk") if a.pk not in {b.pk for b in live_before}]
        _record_hidden(shown, old=f"Archived with {label}", new="Live", by=by, at=now, via=via)
    item.refresh_from_db()
    return decision


@transaction.atomic
def objective_archive(*, objective: Objective, by: User | None, via: str = "web") -> ArchiveDecision | None:
    """Archive an objective: it and every action under it leave the live pages; None if already archived."""
    return _decide_archive(
        objective,
        archived=True,
        by=by,
        via=via,
        actions=Action.objects.filter(objective=objective),
        label=f"objective {objective.code}",
    )


@transaction.atomic
def objective_restore(*, objective: Objective, by: User | None, via: str = "web") -> ArchiveDecision | None:
    """Bring an archived objective back with its actions (those archived themselves stay archived)."""
    return _decide_archive(
        objective,
        archived=False,
        by=by,
        via=via,
        actions=Action.objects.filter(objective=objective),
        label=f"objective {objective.code}",
    )


@transaction.atomic
def priority_archive(*, priority: Priority, by: User | None, via: str = "web") -> ArchiveDecision | None:
    """Archive a priority: it, its objectives and their actions leave the live pages; None if already archived."""
    return _decide_archive(
        priority,
        archived=True,
        by=by,
        via=via,
        actions=Action.objects.filter(objective__priority=priority),
        label=f"priority {priority.number}",
    )


@transaction.atomic
def priority_restore(*, priority: Priority, by: User | None, via: str = "web") -> ArchiveDecision | None:
    """Bring an archived priority back with what is under it (items archived themselves stay archived)."""
    return _decide_archive(
        priority,
        archived=False,
        by=by,
        via=via,
        actions=Action.objects.filter(objective__priority=priority),
        label=f"priority {priority.number}",
    )


@transaction.atomic
def plan_item_delete(*, item: Priority | Objective | Action, by: User | None) -> None:
    """Delete a priority, objective or action that nothing refers to; refused once anything does (archive it)."""
    _require_secretariat(by)
    locked = type(item).objects.select_for_update().get(pk=item.pk)
    references = plan_item_references(item=locked)
    if references:
        raise ValidationError(
            f"{locked} cannot be deleted: it has {', '.join(references)}. Archive it instead, so they stay readable."
        )
    locked.delete()
    if isinstance(locked, Action):
        objective_status_recount(objective_ids=[locked.objective_id])


@transaction.atomic
def plan_choice_remember(*, user: User, plan: Plan) -> PlanChoice:
    """Remember the plan a person chose in the plan switcher (one row per person, replaced on a new choice).

    One upsert: two tabs choosing at once cannot both insert (the second replaces the first).
    """
    choice = PlanChoice(user=user, plan=plan, chosen_at=timezone.now())
    # The person and the plan are rows in hand: checking that they exist would cost two queries a page.
    choice.full_clean(exclude=["user", "plan"], validate_unique=False)
    PlanChoice.objects.bulk_create(
        [choice], update_conflicts=True, unique_fields=["user"], update_fields=["plan", "chosen_at"]
    )
    return choice


def plan_choice_forget(*, user: User) -> None:
    """Forget the plan a person chose: their pages show the default plan again (plan_choice.default_plan)."""
    PlanChoice.objects.filter(user=user).delete()


@transaction.atomic
def plan_start_next(
    *,
    plan: Plan,
    title: str | None,
    start_date: datetime.date | None,
    end_date: datetime.date | None,
    actions: Iterable[Action],
    by: User | None,
    via: str = "web",
) -> tuple[Plan, list[Action]]:
    """Start the plan that follows `plan` and carry the chosen actions of `plan` forward into it.

    Each copy keeps its code, title, description, owner, update frequency and partners (with their
    roles), under a priority and objective of the same number and code (created as needed), starts
    "not started" and points at its original (`predecessor`); both actions' histories record the
    carry-forward. All in one transaction: a refused copy leaves no new plan behind.
    """
    title = (title or "").strip()
    actions = list(actions)
    errors = {}
    if not title:
        errors["title"] = "Enter the new plan's title."
    if start_date and end_date and end_date < start_date:
        errors["end_date"] = "The end date must be the same as or after the start date."
    strangers = [a.code for a in actions if a.objective.priority.plan_id != plan.pk]
    if strangers:
        errors["actions"] = f"Not actions of {plan.title}: {', '.join(strangers)}."
    if errors:
        raise ValidationError(errors)
    new_plan = Plan(
        title=title,
        slug=unique_slug(Plan, title, "plan"),
        organisation_name=plan.organisation_name,
        start_date=start_date,
        end_date=end_date,
    )
    new_plan.full_clean()
    new_plan.save()
    priorities, objectives = {}, {}
    now = timezone.now()
    locked = {
        a.pk: a
        for a in Action.objects.select_for_update(of=("self",))
        .select_related("objective__priority")
        .prefetch_related("partnerships")
        .filter(pk__in=[a.pk for a in actions])
    }
    copies = []
    for old in sorted(locked.values(), key=lambda a: (a.objective.priority.number, a.objective.sort_key, a.sort_key)):
        old_priority, old_objective = old.objective.priority, old.objective
        if old_priority.number not in priorities:
            priority = Priority(
                plan=new_plan, number=old_priority.number, title=old_priority.title, aim=old_priority.aim
            )
            priority.full_clean()
            priority.save()
            priorities[old_priority.number] = priority
        key = (old_priority.number, old_objective.code)
        if key not in objectives:
            objective = Objective(
                priority=priorities[old_priority.number], code=old_objective.code, title=old_objective.title
            )
            objective.full_clean(exclude=["sort_key"])
            objective.save()
            objectives[key] = objective
        copy = Action(
            objective=objectives[key],
            code=old.code,
            title=old.title,
            description=old.description,
            owner=old.owner,
            update_frequency=old.update_frequency,
            predecessor=old,
        )
        copy.full_clean(exclude=["sort_key", "owner"])
        copy.save()
        copy.next_update_due = action_next_update_due(action=copy)
        copy.save(update_fields=["next_update_due"])
        ActionPartner.objects.bulk_create(
            ActionPartner(action=copy, organisation_id=p.organisation_id, role=p.role) for p in old.partnerships.all()
        )
        old.version += 1
        old.save(update_fields=["version", "updated_at"])
        carried = {"from": (copy, f"{old.code} in {plan.title}"), "to": (old, f"{copy.code} in {new_plan.title}")}
        for direction, (subject, value) in carried.items():
            record_changes(
                subject=ActionChange.about(subject),
                before={},
                after={f"carried_forward_{direction}": value},
                by=by,
                via=via,
                at=now,
            )
        copies.append(copy)
    objective_status_recount(objective_ids=[objective.pk for objective in objectives.values()])
    return new_plan, copies
