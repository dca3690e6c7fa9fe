"""Every write to the plan goes through these functions (views, the admin, commands and tasks call them)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import (
    Action,
    ActionChange,
    ActionPartner,
    Objective,
    Plan,
    PlanChoice,
    PlanPublication,
    Priority,
    ProgressUpdate,
    Status,
    Submission,
    UpdateFrequency,
)
from .notifications import notify_progress_decided, notify_progress_submitted
from .scheduling import next_due_date

NOTE_MAX_LENGTH = 5000
DETAIL_FIELDS = ("title", "description", "public_summary", "owner", "start_date", "target_date", "update_frequency")
PUBLIC_SUMMARY_MAX_LENGTH = 1000


class StaleActionError(Exception):
    """Someone else saved the action after this user opened it."""

    def __init__(self, action, seen_version):
        super().__init__(f"Action {action.code} was changed by someone else.")
        self.action = action
        self.seen_version = seen_version

    @property
    def changes(self):
        """What others changed since `seen_version`, oldest first."""
        return list(
            ActionChange.objects.filter(action=self.action, action_version__gt=self.seen_version)
            .select_related("changed_by")
            .order_by("changed_at", "pk")
        )

    @property
    def updates(self):
        return list(
            ProgressUpdate.objects.filter(action=self.action, action_version__gt=self.seen_version)
            .select_related("author", "organisation")
            .order_by("created_at", "pk")
        )


def _lock(action, expected_version=None):
    """The action's row, locked until the transaction ends; refuses a stale `expected_version`."""
    locked = (
        Action.objects.select_for_update(of=("self",))
        .select_related("objective__priority__plan", "owner", "last_update")
        .get(pk=action.pk)
    )
    if expected_version is not None and locked.version != expected_version:
        raise StaleActionError(locked, expected_version)
    return locked


def action_next_update_due(*, action, last_update_at=None):
    """The date the action's next progress update falls due (None without a frequency or a start)."""
    plan = action.objective.priority.plan
    last_on = timezone.localdate(last_update_at) if last_update_at else None
    return next_due_date(
        frequency_months=action.update_frequency,
        last_update_on=last_on,
        action_start=action.start_date,
        plan_start=plan.start_date,
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


def _save_new_version(action, *, fields):
    action.version += 1
    action.save(update_fields=[*fields, "version", "updated_at"])


@transaction.atomic
def action_record_update(
    *,
    action,
    status,
    note,
    by,
    evidence_url="",
    organisation=None,
    accepted_by=None,
    expected_version=None,
    at=None,
    is_demo=False,
    is_public=False,
    via="web",
):
    """Record a progress update and make its status the action's status; refuses a stale version.

    `is_public` shows the update (status, date, note) on the public pages once the plan is published.
    """
    locked = _lock(action, expected_version)
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
    if locked.status != status:
        ActionChange.objects.create(
            action=locked,
            field="status",
            old_value=Status(locked.status).label,
            new_value=Status(status).label,
            changed_by=accepted_by or by,
            changed_at=update.created_at,
            via=via,
            action_version=new_version,
        )
    locked.status = status
    locked.last_update = update
    locked.next_update_due = action_next_update_due(action=locked, last_update_at=update.created_at)
    _save_new_version(locked, fields=["status", "last_update", "next_update_due"])
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


@transaction.atomic
def action_update_details(*, action, by, expected_version=None, partners=None, via="web", **changes):
    """Change an action's details or partners, recording each change; refuses a stale version.

    `changes` may hold any of DETAIL_FIELDS; `partners` is a list of (organisation, role) pairs that
    replaces the current ones (None leaves them as they are). Returns the ActionChange rows written.
    """
    unknown = set(changes) - set(DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"Not an editable action field: {', '.join(sorted(unknown))}")
    locked = _lock(action, expected_version)
    now = timezone.now()
    new_version = locked.version + 1
    records = []

    def record(field, old, new):
        records.append(
            ActionChange(
                action=locked,
                field=field,
                old_value=old,
                new_value=new,
                changed_by=by,
                changed_at=now,
                via=via,
                action_version=new_version,
            )
        )

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
            for org, role in wanted.values():
                ActionPartner.objects.update_or_create(action=locked, organisation=org, defaults={"role": role})
            record("partners", _partners_display(old_pairs), _partners_display(new_pairs))
    if not records:
        return []
    locked.full_clean(exclude=["objective", "last_update", "owner"])
    last_at = locked.last_update.created_at if locked.last_update_id else None
    locked.next_update_due = action_next_update_due(action=locked, last_update_at=last_at)
    _save_new_version(locked, fields=[*changes.keys(), "next_update_due"])
    ActionChange.objects.bulk_create(records)
    action.refresh_from_db()
    return records


@transaction.atomic
def action_create(*, objective, code, title, description, by, via="web", **details):
    """Add an action to an objective, recording its creation."""
    action = Action(objective=objective, code=code, title=title, description=description, **details)
    action.full_clean()
    action.save()
    ActionChange.objects.create(
        action=action, field="created", new_value=str(action), changed_by=by, via=via, action_version=action.version
    )
    if action.update_frequency:
        action.next_update_due = action_next_update_due(action=action)
        action.save(update_fields=["next_update_due"])
    return action


class AlreadyDecidedError(Exception):
    """The submission was accepted or returned by someone else first."""

    def __init__(self, submission):
        who = submission.decided_by or "someone else"
        super().__init__(
            f"This submission was already {submission.get_state_display().lower()} by {who} "
            f"on {timezone.localtime(submission.decided_at):%-d %B %Y at %H:%M}."
        )
        self.submission = submission


# The review steps both kinds of partner report share (progress here, indicator values in
# indicators.services): lock the report while it still waits, check a return's reason, record the decision.


def lock_pending(queryset, submission):
    """`submission` from `queryset`, locked for a decision; AlreadyDecidedError if someone decided first."""
    locked = queryset.select_for_update(of=("self",)).select_related("decided_by").get(pk=submission.pk)
    if locked.state != locked.State.SUBMITTED:
        raise AlreadyDecidedError(locked)
    return locked


def clean_return_reason(reason, what):
    """The reason for returning `what` ("the submission", "the value"), stripped; refused if empty or too long."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": f"Say why {what} is returned, so the partner can answer it."})
    if len(reason) > NOTE_MAX_LENGTH:
        raise ValidationError({"reason": f"The reason must be {NOTE_MAX_LENGTH:,} characters or fewer."})
    if "\x00" in reason:  # PostgreSQL cannot store it (a 500); no person types it
        raise ValidationError({"reason": "The reason holds a NUL character: type it again."})
    return reason


def record_decision(locked, *, by, state, **fields):
    """Save the decision on a locked report: its new state, who decided and when, and `fields`."""
    locked.state = state
    locked.decided_by = by
    locked.decided_at = timezone.now()
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["state", "decided_by", "decided_at", *fields])


@transaction.atomic
def submission_create(*, action, by, status, note, evidence_url="", via_link_to=""):
    """A partner user proposes a progress update on one of their organisation's actions.

    `via_link_to`: the address of the reminder whose link it came through (priorities.report_links).
    """
    if not Action.objects.visible_to(by).filter(pk=action.pk).exists() or by.role != by.Role.PARTNER:
        raise PermissionError("Only a partner of this action can submit progress on it.")
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
    notify_progress_submitted(submission=submission, via_link_to=via_link_to)
    return submission


@transaction.atomic
def submission_accept(*, submission, by):
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
    notify_progress_decided(submission=locked)
    submission.refresh_from_db()
    return update


@transaction.atomic
def submission_return(*, submission, by, reason):
    """Send a submission back to the partner with a reason they can answer."""
    reason = clean_return_reason(reason, "the submission")
    locked = lock_pending(Submission.objects, submission)
    record_decision(locked, by=by, state=Submission.State.RETURNED, return_reason=reason)
    notify_progress_decided(submission=locked)
    submission.refresh_from_db()
    return locked


@transaction.atomic
def progress_update_set_public(*, update, public, by, via="web"):
    """Show an update on the public pages or withdraw it, recording the choice in the action's history."""
    locked = ProgressUpdate.objects.select_for_update(of=("self",)).select_related("action").get(pk=update.pk)
    if locked.is_public == bool(public):
        return None
    locked.is_public = bool(public)
    locked.save(update_fields=["is_public"])
    when = f"{timezone.localtime(locked.created_at):%-d %B %Y %H:%M}"
    change = ActionChange.objects.create(
        action=locked.action,
        field="update_public",
        old_value=f"Update of {when}: {'public' if not public else 'not public'}",
        new_value=f"Update of {when}: {'public' if public else 'not public'}",
        changed_by=by,
        via=via,
        action_version=locked.action.version,
    )
    update.refresh_from_db()
    return change


def _decide_publication(plan, *, published, by):
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
def plan_publish(*, plan, by):
    """Publish the plan's public pages and open data (accepted, public items only); None if already published."""
    if by.role != by.Role.SECRETARIAT:
        raise PermissionError("Only the secretariat publishes the plan.")
    return _decide_publication(plan, published=True, by=by)


@transaction.atomic
def plan_unpublish(*, plan, by):
    """Take the plan's public pages and open data down at once; None if it was not published."""
    if by.role != by.Role.SECRETARIAT:
        raise PermissionError("Only the secretariat unpublishes the plan.")
    return _decide_publication(plan, published=False, by=by)


@transaction.atomic
def plan_choice_remember(*, user, plan):
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


def _unique_plan_slug(title):
    base = slugify(title)[:50] or "plan"
    slug, n = base, 1
    while Plan.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def plan_start_next(*, plan, title, start_date, end_date, actions, by, via="web"):
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
        slug=_unique_plan_slug(title),
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
        ActionChange.objects.bulk_create(
            [
                ActionChange(
                    action=copy,
                    field="carried_forward_from",
                    new_value=f"{old.code} in {plan.title}",
                    changed_by=by,
                    changed_at=now,
                    via=via,
                    action_version=copy.version,
                ),
                ActionChange(
                    action=old,
                    field="carried_forward_to",
                    new_value=f"{copy.code} in {new_plan.title}",
                    changed_by=by,
                    changed_at=now,
                    via=via,
                    action_version=old.version,
                ),
            ]
        )
        copies.append(copy)
    return new_plan, copies
