"""Importing a plan: keep the upload, then write a valid file in one transaction (tracker.imports).

plan_imports.reading reads and checks the file; the plan's own services (priorities.services) write
its actions, priorities and objectives, each in its history as made "via" the import.
"""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError

from priorities.counts import objective_status_recount
from priorities.models import Action, Objective, Plan, Priority
from priorities.services import (
    action_create,
    action_update_details,
    objective_create,
    objective_update,
    plan_create,
    priority_create,
    priority_update,
)
from tracker.imports import ImportAlreadyConfirmed, ImportNotValid, upload_confirm, upload_store
from tracker.models import Organisation, User
from tracker.services import organisation_create

from .models import PlanImport
from .reading import PlanPreview, name_key, parse_plan_file

# The refusals, by the names the plan's callers know them.
PlanImportNotValid = ImportNotValid
PlanImportAlreadyConfirmed = ImportAlreadyConfirmed


def plan_import_store(
    *, filename: str, content: bytes, by: User, plan: Plan | None = None, new_plan_title: str = ""
) -> PlanImport:
    """Keep an uploaded plan file (for `plan`, or a new plan with that title) until its preview is confirmed."""
    return upload_store(
        model=PlanImport,
        filename=filename,
        content=content,
        by=by,
        plan=plan,
        new_plan_title="" if plan else " ".join(new_plan_title.split()),
    )


def plan_import_confirm(
    *, upload: PlanImport, by: User, create_organisations: Iterable[str] = (), via: str = "import"
) -> PlanImport:
    """Check the stored file again and write every row, or none; returns the PlanImport, confirmed.

    `create_organisations` names the unknown organisations the person ticked: any other unknown one
    is a problem. Actions are added with action_create and changed with action_update_details, so
    each change is in the action's history (via "import") and partners keep their roles.
    """

    def check(locked: PlanImport) -> PlanPreview:
        return parse_plan_file(
            filename=locked.filename,
            content=bytes(locked.content),
            plan=locked.plan,
            plan_title=locked.new_plan_title,
            create_organisations=create_organisations,
        )

    def write(locked: PlanImport, preview: PlanPreview, now: datetime.datetime) -> int:
        locked.plan, written, locked.organisations_created = _write_plan(
            preview, plan=locked.plan, title=locked.new_plan_title, by=by, via=via
        )
        return written

    return upload_confirm(
        upload=upload,
        check=check,
        write=write,
        races=(IntegrityError, ValidationError),
        race_message="The plan or its organisations changed while you were checking the file. "
        "Nothing was imported: upload the file again to see it against the plan as it is now.",
        fields=["plan", "organisations_created"],
    )


def _write_plan(preview: PlanPreview, *, plan: Plan | None, title: str, by: User, via: str) -> tuple[Plan, int, int]:
    """What a valid preview says, through the services: (plan, actions added or changed, organisations added)."""
    if plan is None:
        plan = plan_create(title=title, by=by, via=via)
    organisations = {key: organisation_create(name=name) for key, name in preview.new_organisations.items()}
    priorities = {priority.number: priority for priority in Priority.objects.filter(plan=plan)}
    for number, priority_title in preview.priority_titles.items():
        priority = priorities.get(number)
        if priority is None:
            priorities[number] = priority_create(plan=plan, number=number, title=priority_title, by=by, via=via)
        elif priority.title != priority_title:
            priority_update(priority=priority, title=priority_title, by=by, via=via)
    objectives = {name_key(o.code): o for o in Objective.objects.filter(priority__plan=plan)}
    for key, objective_title in preview.objective_titles.items():
        objective = objectives.get(key)
        if objective is None:
            code, number, _ = preview.new_objectives[key]
            objectives[key] = objective_create(
                priority=priorities[number], code=code, title=objective_title, by=by, via=via
            )
        elif objective.title != objective_title:
            objective_update(objective=objective, title=objective_title, by=by, via=via)
    # The actions the file changes, as model objects for the services (one query).
    changed = Action.objects.in_bulk([row.action.pk for row in preview.rows if row.action is not None and row.changes])
    written, added_to = 0, set[int]()
    for row in preview.rows:
        partners = [
            (partner if isinstance(partner, Organisation) else organisations[partner], role)
            for partner, role in row.partners
        ]
        if row.action is None:
            action = action_create(
                objective=objectives[name_key(row.objective_code)],
                code=row.action_code,
                by=by,
                via=via,
                recount=False,
                **row.details,
            )
            added_to.add(action.objective_id)
            if partners:
                action_update_details(action=action, by=by, via=via, partners=partners)
            written += 1
        elif row.changes:
            action_update_details(action=changed[row.action.pk], by=by, via=via, partners=partners, **row.details)
            written += 1
    objective_status_recount(objective_ids=added_to)  # once per objective the file added actions to
    return plan, written, len(organisations)
