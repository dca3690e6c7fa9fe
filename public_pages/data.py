"""What the public pages and the open data may show, read as plain values (never model instances).

Only a published plan is read, never an archived item (nor what an archived objective or priority
holds) nor an objective or priority that holds no live action, and from the rest only: the plan's,
priorities', objectives' and actions' published text, each action's status, dates, partner
organisations (names and roles, never people) and public summary, the progress updates marked public
(status, date, note, reporting organisation), the success indicators and their measures (baseline,
target) and the measurements marked public (period and value).
Templates and files get dictionaries built here, so a template cannot reach an owner, an author, an
internal note or a submission through a relation.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Prefetch, QuerySet
from django.utils import timezone

from indicators.models import IndicatorChange, Measure, Measurement, SuccessIndicator
from indicators.progress import format_value, period_label
from priorities.models import Action, ActionPartner, Objective, Plan, PlanQuerySet, Priority, ProgressUpdate, Status

ACTIONS_PER_PAGE = 50
UPDATES_PER_ACTION = 50


def published_plans() -> PlanQuerySet:
    return Plan.objects.published().order_by("title")


def _date(value: datetime.date | None) -> str | None:
    return value.isoformat() if value else None


def last_updated(plan_ids: list[int]) -> datetime.datetime | None:
    """The latest moment anything the public pages show changed (or the plans were published)."""
    if not plan_ids:
        return None
    stamps = [
        *Plan.objects.filter(pk__in=plan_ids).values_list("published_at", flat=True),
        Action.objects.filter(objective__priority__plan__in=plan_ids).aggregate(at=Max("updated_at"))["at"],
        ProgressUpdate.objects.filter(action__objective__priority__plan__in=plan_ids, is_public=True).aggregate(
            at=Max("created_at")
        )["at"],
        IndicatorChange.objects.filter(indicator__plan__in=plan_ids).aggregate(at=Max("changed_at"))["at"],
    ]
    return max((stamp for stamp in stamps if stamp), default=None)


def _plan(plan: Plan) -> dict[str, Any]:
    assert plan.published_at is not None  # every caller reads the plan through published_plans()
    return {
        "id": plan.pk,
        "title": plan.title,
        "slug": plan.slug,
        "publisher": plan.organisation_name,
        "start_date": _date(plan.start_date),
        "end_date": _date(plan.end_date),
        "source_url": plan.source_url,
        "published_at": plan.published_at.isoformat(),
    }


def _partners(action: Action) -> list[dict[str, str]]:
    return [
        {"name": p.organisation.name, "role": p.role, "role_label": p.get_role_display()}
        # public_partnerships: _partnerships()'s to_attr, which mypy does not see on the model.
        for p in action.public_partnerships  # type: ignore[attr-defined]
    ]


def _action(action: Action) -> dict[str, Any]:
    return {
        "id": action.pk,
        "code": action.code,
        "title": action.title,
        "description": action.description,
        "status": action.status,
        "status_label": Status(action.status).label,
        "start_date": _date(action.start_date),
        "target_date": _date(action.target_date),
        "public_summary": action.public_summary,
        "partners": _partners(action),
    }


def _update(update: ProgressUpdate) -> dict[str, Any]:
    return {
        "date": timezone.localtime(update.created_at).date().isoformat(),
        "status": update.status,
        "status_label": Status(update.status).label,
        "previous_status": update.previous_status or None,
        "note": update.note,
        "organisation": update.organisation.name if update.organisation else None,
    }


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _measurement(measurement: Measurement, unit: str) -> dict[str, Any]:
    numeric = unit != Measure.Unit.TEXT
    return {
        "period_start": _date(measurement.period_start),
        "period_end": _date(measurement.period_end),
        "period_label": period_label(measurement.period_start, measurement.period_end),
        "value": _number(measurement.value) if numeric else None,
        "text_value": "" if numeric else measurement.text_value,
        "display": format_value(measurement.value if numeric else measurement.text_value, unit),
    }


def _measure(measure: Measure) -> dict[str, Any]:
    return {
        "id": measure.pk,
        "name": measure.name,
        "unit": measure.unit,
        "unit_label": measure.get_unit_display(),
        "direction": measure.direction,
        "direction_label": measure.get_direction_display(),
        "baseline": {
            "value": _number(measure.baseline_value),
            "date": _date(measure.baseline_date),
            "display": measure.baseline_display,
        },
        "target": {
            "value": _number(measure.target_value),
            "date": _date(measure.target_date),
            "display": measure.target_display,
        },
        "reporting_organisation": measure.reporting_organisation.name if measure.reporting_organisation else None,
        # public_measurements: _public_measures()'s to_attr, which mypy does not see on the model.
        "values": [_measurement(m, measure.unit) for m in measure.public_measurements],  # type: ignore[attr-defined]
    }


def _partnerships() -> Prefetch[str, QuerySet[ActionPartner]]:
    return Prefetch(
        "partnerships",
        queryset=ActionPartner.objects.select_related("organisation").order_by("role", "organisation__name"),
        to_attr="public_partnerships",
    )


def _public_measures() -> Prefetch[str, QuerySet[Measure]]:
    return Prefetch(
        "measures",
        queryset=Measure.objects.select_related("reporting_organisation").prefetch_related(
            Prefetch(
                "measurements",
                queryset=Measurement.objects.filter(is_public=True).order_by("period_end", "period_start"),
                to_attr="public_measurements",
            )
        ),
    )


def _live_objectives() -> Prefetch[str, QuerySet[Objective]]:
    # Under a live priority (the caller's filter), an objective is live unless archived itself.
    return Prefetch("objectives", queryset=Objective.objects.filter(archived_at__isnull=True))


def _indicator_summary(indicator: SuccessIndicator) -> dict[str, Any]:
    return {"id": indicator.pk, "code": indicator.code, "statement": indicator.statement}


def overview() -> dict[str, Any] | None:
    """The published plans with their priorities, objectives (with status counts) and indicators; None if none."""
    plans = list(published_plans())
    if not plans:
        return None
    ids = [plan.pk for plan in plans]
    counts: dict[int, dict[str, int]] = {}
    for objective_id, status, n in (
        Action.objects.live()
        .filter(objective__priority__plan__in=ids)
        .order_by()
        .values_list("objective_id", "status")
        .annotate(n=Count("pk"))
    ):
        counts.setdefault(objective_id, {})[status] = n
    priorities = Priority.objects.live().filter(plan__in=ids).prefetch_related(_live_objectives())
    indicators = SuccessIndicator.objects.live().filter(plan__in=ids)
    by_plan = {plan.pk: {**_plan(plan), "priorities": [], "indicators": []} for plan in plans}
    for priority in priorities:
        # Only what holds a live action is shown: an empty objective or priority has nothing to report.
        objectives = [
            {
                "id": objective.pk,
                "code": objective.code,
                "title": objective.title,
                "total": sum(counts[objective.pk].values()),
                "statuses": [
                    {"status": value, "label": label, "count": counts[objective.pk][value]}
                    for value, label in Status.choices
                    if counts[objective.pk].get(value)
                ],
            }
            for objective in priority.objectives.all()
            if objective.pk in counts
        ]
        if objectives:
            by_plan[priority.plan_id]["priorities"].append(
                {"number": priority.number, "title": priority.title, "aim": priority.aim, "objectives": objectives}
            )
    for indicator in indicators:
        by_plan[indicator.plan_id]["indicators"].append(_indicator_summary(indicator))
    return {"plans": list(by_plan.values()), "last_updated": last_updated(ids)}


def objective_page(pk: int, page: int) -> dict[str, Any] | None:
    """One objective of a published plan and one page of its actions; None if not public or no such page."""
    objective = (
        Objective.objects.live()
        .filter(pk=pk, priority__plan__in=published_plans())
        .select_related("priority__plan")
        .first()
    )
    if objective is None or page < 1:
        return None
    actions = Action.objects.live().filter(objective=objective)
    total = actions.count()
    pages = -(-total // ACTIONS_PER_PAGE)
    if page > pages:  # also an objective with no live action: it is not shown
        return None
    start = (page - 1) * ACTIONS_PER_PAGE
    listed = actions.prefetch_related(_partnerships())[start : start + ACTIONS_PER_PAGE]
    plan = objective.priority.plan
    return {
        "plan": _plan(plan),
        "priority": {"number": objective.priority.number, "title": objective.priority.title},
        "objective": {"id": objective.pk, "code": objective.code, "title": objective.title},
        "actions": [_action(action) for action in listed],
        "total": total,
        "page": page,
        "pages": pages,
        "first": start + 1,
        "last": min(start + ACTIONS_PER_PAGE, total),
        "last_updated": last_updated([plan.pk]),
    }


def action_page(pk: int) -> dict[str, Any] | None:
    """One action of a published plan with its public updates and linked indicators; None if not public."""
    action = (
        Action.objects.live()
        .filter(pk=pk, objective__priority__plan__in=published_plans())
        .select_related("objective__priority__plan")
        .prefetch_related(_partnerships())
        .first()
    )
    if action is None:
        return None
    updates = (
        ProgressUpdate.objects.filter(action=action, is_public=True)
        .select_related("organisation")
        .order_by("-created_at", "-pk")[:UPDATES_PER_ACTION]
    )
    plan = action.objective.priority.plan
    return {
        "plan": _plan(plan),
        "priority": {"number": action.objective.priority.number, "title": action.objective.priority.title},
        "objective": {"id": action.objective_id, "code": action.objective.code, "title": action.objective.title},
        "action": _action(action),
        "updates": [_update(update) for update in updates],
        "indicators": [_indicator_summary(i) for i in action.indicators.live().filter(plan=plan)],
        "last_updated": last_updated([plan.pk]),
    }


def indicator_page(pk: int) -> dict[str, Any] | None:
    """One success indicator of a published plan, its measures with their public values, and linked actions."""
    indicator = (
        SuccessIndicator.objects.live()
        .filter(pk=pk, plan__in=published_plans())
        .select_related("plan")
        .prefetch_related(
            _public_measures(),
            # Only actions of published plans, should an indicator be linked across plans.
            Prefetch(
                "actions",
                queryset=Action.objects.live()
                .filter(objective__priority__plan__in=published_plans())
                .only("pk", "code", "title", "status", "sort_key"),
            ),
        )
        .first()
    )
    if indicator is None:
        return None
    return {
        "plan": _plan(indicator.plan),
        "indicator": _indicator_summary(indicator),
        "measures": [(_measure(measure), measure) for measure in indicator.measures.all()],
        "actions": [
            {"id": a.pk, "code": a.code, "title": a.title, "status": a.status, "status_label": Status(a.status).label}
            for a in indicator.actions.all()
        ],
        "last_updated": last_updated([indicator.plan_id]),
    }


def open_data() -> dict[str, Any] | None:
    """Everything public, as one document (the shape of schema/plan.schema.json's "plans"); None if none."""
    plans = list(
        published_plans().prefetch_related(
            Prefetch(
                "priorities",
                queryset=Priority.objects.live().prefetch_related(
                    Prefetch(
                        "objectives",
                        queryset=Objective.objects.filter(archived_at__isnull=True).prefetch_related(
                            Prefetch(
                                "actions",
                                queryset=Action.objects.filter(archived_at__isnull=True).prefetch_related(
                                    _partnerships(),
                                    Prefetch(
                                        "updates",
                                        queryset=ProgressUpdate.objects.filter(is_public=True)
                                        .select_related("organisation")
                                        .order_by("created_at", "pk"),
                                        to_attr="public_updates",
                                    ),
                                ),
                            )
                        ),
                    )
                ),
            ),
            Prefetch(
                "indicators",
                queryset=SuccessIndicator.objects.live().prefetch_related(
                    _public_measures(),
                    Prefetch(
                        "actions",
                        queryset=Action.objects.live()
                        .filter(objective__priority__plan__in=published_plans())
                        .only("pk", "code", "sort_key"),
                    ),
                ),
            ),
        )
    )
    if not plans:
        return None
    documents: list[dict[str, Any]] = []
    for plan in plans:
        document = _plan(plan)
        document["priorities"] = []
        for priority in plan.priorities.all():
            # As on the pages: an objective without a live action is left out, and a priority without one.
            objectives = [
                {
                    "code": objective.code,
                    "title": objective.title,
                    "actions": [
                        # public_updates: the Prefetch's to_attr above, which mypy does not see on the model.
                        {**_action(action), "updates": [_update(u) for u in action.public_updates]}  # type: ignore[attr-defined]
                        for action in objective.actions.all()
                    ],
                }
                for objective in priority.objectives.all()
                if objective.actions.all()
            ]
            if objectives:
                document["priorities"].append(
                    {"number": priority.number, "title": priority.title, "aim": priority.aim, "objectives": objectives}
                )
        document["indicators"] = [
            {
                "code": indicator.code,
                "statement": indicator.statement,
                "action_codes": [action.code for action in indicator.actions.all()],
                "measures": [_measure(measure) for measure in indicator.measures.all()],
            }
            for indicator in plan.indicators.all()
        ]
        documents.append(document)
    return {"plans": documents, "last_updated": last_updated([plan.pk for plan in plans])}


def as_of(moment: datetime.datetime | None) -> str | None:
    """A "last updated" moment as an ISO 8601 date and time in the plan's time zone."""
    if moment is None:
        return None
    return timezone.localtime(moment).replace(microsecond=0).isoformat()
