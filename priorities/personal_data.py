"""The plan's part of a person's data (tracker.personal_data): what they recorded, decided or own.

What they were sent (reminders, notifications, report links) and their email choices: messaging/personal_data.py.
"""

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from tracker.models import User
from tracker.personal_data import Pseudonym, display_name, register_anonymiser, register_export

from .models import (
    Action,
    ActionChange,
    ArchiveDecision,
    Objective,
    PlanChange,
    PlanPublication,
    Priority,
    ProgressUpdate,
    Submission,
)


def _name(user: User | None) -> str:
    return display_name(user) if user is not None else ""


def _actions_owned(person: User) -> Iterator[dict[str, Any]]:
    for action in Action.objects.filter(owner=person).select_related("objective__priority__plan").order_by("sort_key"):
        yield {
            "plan": action.objective.priority.plan.title,
            "action": action.code,
            "title": action.title,
            "status": action.get_status_display(),
            "archived": action.archived_at is not None,
        }


def _progress_updates(person: User) -> Iterator[dict[str, Any]]:
    updates = ProgressUpdate.objects.filter(Q(author=person) | Q(accepted_by=person)).select_related(
        "action", "organisation", "author", "accepted_by"
    )
    for update in updates.order_by("created_at", "pk"):
        yield {
            "their_part": "recorded" if update.author_id == person.pk else "accepted",
            "action": update.action.code,
            "at": update.created_at,
            "status": update.get_status_display(),
            "previous_status": update.get_previous_status_display() if update.previous_status else "",
            "note": update.note,
            "evidence_link": update.evidence_url,
            "organisation": update.organisation.name if update.organisation else "",
            "recorded_by": _name(update.author),
            "accepted_by": _name(update.accepted_by),
            "public": update.is_public,
        }


def _submissions(person: User) -> Iterator[dict[str, Any]]:
    submissions = Submission.objects.filter(Q(submitted_by=person) | Q(decided_by=person)).select_related(
        "action", "organisation", "submitted_by", "decided_by"
    )
    for submission in submissions.order_by("submitted_at", "pk"):
        yield {
            "their_part": "submitted" if submission.submitted_by_id == person.pk else "decided",
            "action": submission.action.code,
            "submitted_at": submission.submitted_at,
            "organisation": submission.organisation.name,
            "submitted_by": _name(submission.submitted_by),
            "proposed_status": submission.get_status_display(),
            "note": submission.note,
            "evidence_link": submission.evidence_url,
            "state": submission.get_state_display(),
            "decided_by": _name(submission.decided_by),
            "decided_at": submission.decided_at,
            "return_reason": submission.return_reason,
        }


def _changes(person: User) -> Iterator[dict[str, Any]]:
    for change in ActionChange.objects.filter(changed_by=person).select_related("action").order_by("changed_at", "pk"):
        yield {
            "item": f"Action {change.action.code}",
            "at": change.changed_at,
            "field": change.field_label,
            "old_value": change.old_value,
            "new_value": change.new_value,
            "via": change.via,
        }
    for plan_change in PlanChange.objects.filter(changed_by=person).order_by("changed_at", "pk"):
        yield {
            "item": f"{plan_change.get_item_kind_display()} {plan_change.item_label}",
            "at": plan_change.changed_at,
            "field": plan_change.field_label,
            "old_value": plan_change.old_value,
            "new_value": plan_change.new_value,
            "via": plan_change.via,
        }


def _decisions(person: User) -> Iterator[dict[str, Any]]:
    for publication in PlanPublication.objects.filter(decided_by=person).select_related("plan"):
        yield {
            "at": publication.decided_at,
            "decision": "published" if publication.published else "unpublished",
            "item": f"Plan {publication.plan}",
        }
    for decision in ArchiveDecision.objects.filter(decided_by=person).select_related("priority", "objective"):
        item = decision.item
        assert item is not None  # a decision is about a priority or an objective (a constraint says so)
        kind = "Priority" if decision.priority_id else "Objective"
        yield {
            "at": decision.decided_at,
            "decision": "archived" if decision.archived else "restored",
            "item": f"{kind} {getattr(item, 'code', None) or getattr(item, 'number', '')} {item.title}",
        }
    for model, kind in ((Priority, "Priority"), (Objective, "Objective"), (Action, "Action")):
        for archived in model.objects.filter(archived_by=person):
            label = getattr(archived, "code", None) or getattr(archived, "number", "")
            yield {
                "at": archived.archived_at,
                "decision": "archived (still)",
                "item": f"{kind} {label} {archived.title}",
            }


def _anonymise(person: User, pseudonym: Pseudonym) -> dict[str, int]:
    """Owner changes name "Former user N" (an owner change records the owner's name as it read then)."""
    renamed = 0
    for side in ("old_value", "new_value"):
        renamed += ActionChange.objects.filter(field="owner", **{f"{side}__iexact": pseudonym.old_name}).update(
            **{side: pseudonym.name}
        )
    return {"owner changes renamed": renamed}


def register() -> None:
    """The plan's parts (called from PrioritiesConfig.ready())."""
    register_export(name="actions_owned", title="Actions they own", models=["priorities.Action"], rows=_actions_owned)
    register_export(
        name="progress_updates",
        title="Progress updates they recorded or accepted",
        models=["priorities.ProgressUpdate"],
        rows=_progress_updates,
    )
    register_export(
        name="submissions",
        title="Progress they submitted, and submissions they decided",
        models=["priorities.Submission"],
        rows=_submissions,
    )
    register_export(
        name="plan_changes",
        title="Changes they made to actions and to the plan's outline",
        models=["priorities.ActionChange", "priorities.PlanChange"],
        rows=_changes,
    )
    register_export(
        name="plan_decisions",
        title="Plans they published or unpublished, items they archived or restored",
        models=[
            "priorities.PlanPublication",
            "priorities.ArchiveDecision",
            "priorities.Priority",
            "priorities.Objective",
        ],
        rows=_decisions,
    )
    register_anonymiser(name="the plan's histories", models=["priorities.ActionChange"], anonymise=_anonymise)
