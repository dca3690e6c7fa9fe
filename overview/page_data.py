"""The overview pages' selectors: what they show, assembled from the QuerySets (the views only render).

- The dashboard (`dashboard_data`): where the plan stands, what changed since a date, who has not reported.
- The progress report (`progress_report_data`, `progress_report_sheets`): the plan as it stood on a date.
"""

import dataclasses
import datetime
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import Case, CharField, Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from indicators.history import annotate_as_of
from indicators.models import Measure, SuccessIndicator
from priorities.charts import STATUS_ORDER, engagement_rows, stacked_status_bars, status_chart_html, status_table_rows
from priorities.models import (
    Action,
    ActionChange,
    ActionPartner,
    ActionQuerySet,
    Objective,
    ObjectiveStatusCount,
    Plan,
    Priority,
    ProgressUpdate,
    Status,
)
from priorities.plan_choice import PLAN_PARAM
from tracker.models import User
from tracker.spreadsheets import person_name
from tracker.sql import JoinedText

# --- the dashboard ----------------------------------------------------------------------------------

LIST_LIMIT = 25


def status_counts(
    actions: ActionQuerySet, today: datetime.date, plan: Plan | None
) -> tuple[dict[int, dict[str, int]], int]:
    """({objective_id: {status: n}}, overdue total) for the plan's actions (staff: every action).

    The counts per status are the stored ones (ObjectiveStatusCount, kept by the services): a few
    rows per objective, however many actions there are.
    """
    stored = ObjectiveStatusCount.objects.filter(objective__priority__plan=plan)
    return stored.by_objective(), actions.overdue(today).count()


def dashboard_data(
    *,
    user: User,
    plan: Plan | None,
    since: datetime.date,
    today: datetime.date,
    register_url: Callable[..., str],
    plan_slug: str | None,
    plan_query: str,
) -> dict[str, Any]:
    """The dashboard's numbers, lists and charts for `user` (staff) on `plan`, with changes since `since`.

    `register_url(**filters)` links to the register (naming the plan shown, `plan_slug`), `plan_query` is
    the `?plan=` for the organisations' pages (or ""). A fixed number of queries, however large the plan.
    """
    actions = Action.objects.visible_to(user).live().filter(objective__priority__plan=plan)
    by_objective, overdue_total = status_counts(actions, today, plan)
    objectives = Objective.objects.filter(pk__in=list(by_objective)).select_related("priority__plan")
    overall: dict[str, int] = {}
    for counts in by_objective.values():
        for status, n in counts.items():
            overall[status] = overall.get(status, 0) + n
    rows: list[dict[str, Any]] = [{"label": "All", "title": "All actions", "counts": overall, "filters": {}}]
    rows += [
        {
            "label": objective.code,
            "title": f"{objective.code} {objective.title}",
            "counts": by_objective[objective.pk],
            "filters": {"objective": objective.pk},
        }
        for objective in objectives
    ]
    for row in rows:
        row["filters"] = {PLAN_PARAM: plan_slug, **row["filters"]}
    chart = stacked_status_bars(rows)
    headline = [
        {
            "status": status,
            "label": Status(status).label,
            "count": overall.get(status, 0),
            "url": register_url(status=status),
        }
        for status in STATUS_ORDER
    ]

    # The lists show the most urgent; their totals link to the register for the rest.
    most_urgent = actions.filter(status__in=[Status.OFF_TRACK, Status.AT_RISK]).order_by("-status", "sort_key")
    in_trouble = (
        # The 25 picked first, then joined to their last updates (not every update joined, then 25 kept).
        Action.objects.filter(pk__in=most_urgent.values("pk")[:LIST_LIMIT])
        .select_related("objective", "last_update__author", "last_update__organisation")
        .order_by("-status", "sort_key")
    )
    overdue = (
        actions.overdue(today).select_related("objective", "owner").order_by("next_update_due", "sort_key")[:LIST_LIMIT]
    )
    since_start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    recent_changes = (
        ActionChange.objects.filter(action__in=actions, field="status", changed_at__gte=since_start)
        .select_related("action", "changed_by")
        .order_by("-changed_at", "-pk")[: LIST_LIMIT * 2 + 1]
    )
    engagement = ActionPartner.objects.of_actions(actions).engagement(today)
    status_changes = list(recent_changes)
    organisation_path = reverse("organisation-detail", kwargs={"slug": "-"})
    # The organisation's page shows the plan these counts are of.
    for row in engagement:
        org = row["organisation_id"]
        row["organisation_url"] = organisation_path.replace("/-/", f"/{row['organisation__slug']}/") + plan_query
        row["partnered_url"] = register_url(partner=org)
        row["current_url"] = register_url(partner=org, reporting="current")
        row["never_url"] = register_url(partner=org, reporting="never")
        row["never"] = row["partnered"] - row["ever"]

    indicators = SuccessIndicator.objects.live().for_page(user).filter(plan=plan)
    return {
        "plan": plan,
        "plan_slug": plan_slug,
        "indicators": indicators,
        "today": today,
        "since": since,
        "total": sum(overall.values()),
        "headline": headline,
        "chart": chart,
        "chart_html": status_chart_html(
            chart, chart_id="status-chart", chart_title="Actions by status, overall and per objective"
        ),
        "status_rows": status_table_rows(chart),
        "engagement_rows": engagement_rows(engagement),
        "in_trouble": in_trouble,
        "in_trouble_total": overall.get(Status.OFF_TRACK, 0) + overall.get(Status.AT_RISK, 0),
        "overdue": overdue,
        "overdue_total": overdue_total,
        "list_limit": LIST_LIMIT,
        "more_changes": len(status_changes) > LIST_LIMIT * 2,
        "overdue_url": register_url(overdue="on"),
        "status_changes": status_changes[: LIST_LIMIT * 2],
        "engagement": engagement,
        "silent": [row for row in engagement if row["ever"] == 0],
        "at_risk_url": register_url(status=[Status.OFF_TRACK, Status.AT_RISK]),
    }


# --- the progress report ----------------------------------------------------------------------------


def actions_as_of(actions: ActionQuerySet, as_of: datetime.date) -> QuerySet[Any]:
    """Annotate each action with its status, note and update time as of the end of `as_of` (history replayed).

    Today's are the action's last update, which action_record_update keeps with the status it sets:
    no history to replay, so the default report costs a join rather than a subquery per action. An
    action without an update is not started (status_then None) on either path.
    """
    if as_of >= timezone.localdate():
        return actions.annotate(
            status_then=Case(When(last_update__isnull=True, then=Value(None)), default=F("status")),
            note_then=F("last_update__note"),
            updated_then=F("last_update__created_at"),
        )
    end = timezone.make_aware(datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min))
    latest = ProgressUpdate.objects.filter(action=OuterRef("pk"), created_at__lt=end).order_by("-created_at", "-pk")
    return actions.annotate(
        status_then=Subquery(latest.values("status")[:1]),
        note_then=Subquery(latest.values("note")[:1]),
        updated_then=Subquery(latest.values("created_at")[:1]),
    )


# A plan of up to this many actions is listed whole on one page (and on paper); a larger one is in
# parts of at most this many, by priority (issue 22). Each part is one query, whatever the plan's size.
REPORT_ACTIONS_LIMIT = 500


def build_report(user: User, as_of: datetime.date, plan: Plan | None) -> tuple[list[Plan], list[dict[str, Any]]]:
    """The plan (a list of it, or none) with its priorities, objectives and indicators, and the summary, as of a date.

    Each item as it stood on the date: one archived later was live then, one archived by then was not.
    Each objective carries `counts_then` (in STATUS_ORDER) and `total` as of the date, each priority
    its `total`, counted in one grouped query. The actions themselves are listed by list_actions().
    """
    plans_found = Plan.objects.filter(Q(pk=plan.pk if plan else None)).prefetch_related(
        Prefetch(
            "priorities",
            queryset=Priority.objects.live_on(as_of).prefetch_related(
                Prefetch("objectives", queryset=Objective.objects.live_on(as_of))
            ),
        ),
        Prefetch(
            "indicators",
            queryset=SuccessIndicator.objects.live_on(as_of).prefetch_related("measures"),
        ),
    )
    plans: list[Any] = list(plans_found)  # with the counts set below
    # Indicator values as known on the date: recorded by then, as then corrected.
    annotate_as_of([m for plan in plans for i in plan.indicators.all() for m in i.measures.all()], as_of)
    by_objective: dict[int, dict[str, int]] = {}
    rows = (
        actions_as_of(report_actions(user, as_of).filter(objective__priority__plan=plan), as_of)
        .order_by()
        .values_list("objective_id", "status_then")
        .annotate(n=Count("pk"))
        .values_list("objective_id", "status_then", "n")
    )
    for objective_id, status, n in rows:
        counts = by_objective.setdefault(objective_id, {})
        # No update by then: not started, as every action begins.
        status = status or Status.NOT_STARTED
        counts[status] = counts.get(status, 0) + n
    totals: dict[str, int] = {}
    for each in plans:
        for priority in each.priorities.all():
            priority.total = 0
            for objective in priority.objectives.all():
                counts = by_objective.get(objective.pk, {})
                objective.counts_then = [counts.get(s, 0) for s in STATUS_ORDER]
                objective.total = sum(counts.values())
                priority.total += objective.total
                for status, n in counts.items():
                    totals[status] = totals.get(status, 0) + n
    summary = [{"status": s, "label": Status(s).label, "count": totals.get(s, 0)} for s in STATUS_ORDER]
    return plans, summary


def report_actions(user: User, as_of: datetime.date) -> ActionQuerySet:
    """The actions the report counts and lists: those `user` may see, live at the end of `as_of`."""
    return Action.objects.visible_to(user).live_on(as_of)


@dataclasses.dataclass
class ReportPart:
    """One part of a report too long for one page: actions `first` to `last` (from 1) of one priority's `total`."""

    number: int
    priority: Priority
    first: int
    last: int
    total: int


def report_parts(plan: Any, limit: int = REPORT_ACTIONS_LIMIT) -> list[ReportPart]:
    """The parts of the plan's report, by priority, each of at most `limit` actions; [] when one page holds it all.

    A priority with more than `limit` actions is in several parts; one without actions is in none
    (its objectives' counts are on every part). Worked out from the counts build_report() made.
    """
    if plan is None or sum(priority.total for priority in plan.priorities.all()) <= limit:
        return []
    parts: list[ReportPart] = []
    for priority in plan.priorities.all():
        for start in range(0, priority.total, limit):
            last = min(start + limit, priority.total)
            parts.append(ReportPart(len(parts) + 1, priority, start + 1, last, priority.total))
    return parts


def list_actions(
    user: User, as_of: datetime.date, plan: Plan, part: ReportPart | None = None, limit: int = REPORT_ACTIONS_LIMIT
) -> list[Any]:
    """The listed actions (all the plan's, or a part's), in report order, each with its status, note,
    update time and lead partners as of the date: one query.

    Each action carries `lead_partners` and, for when none is named, `other_partners` (all its
    partners). Partners have no history: they are today's (the page says so for a past date).
    """
    actions = report_actions(user, as_of)
    if part is None:
        actions, start, stop = actions.filter(objective__priority__plan=plan), 0, limit
    else:
        actions, start, stop = actions.filter(objective__priority=part.priority), part.first - 1, part.last
    # Organisations by their short names where they have one (Organisation.display_name): a narrow column.
    partners = (
        ActionPartner.objects.filter(action=OuterRef("pk"))
        .order_by("organisation__name")
        .annotate(name=Coalesce(NullIf("organisation__short_name", Value("")), "organisation__name"))
    )
    leads = partners.filter(role=ActionPartner.Role.LEAD).values("name")
    return list(
        actions_as_of(actions, as_of)
        .annotate(
            lead_partners=JoinedText(leads, column="name", delimiter=", "),
            # Shown instead when no lead is named (the published Priority 5 plan names none).
            other_partners=JoinedText(partners.values("name"), column="name", delimiter=", "),
        )
        .only("pk", "code", "title", "start_date", "target_date", "objective_id", "status", "last_update")
        # The order of the summary: priorities by number, objectives and actions by their codes.
        .order_by("objective__priority__number", "objective__sort_key", "objective_id", "sort_key", "pk")[start:stop]
    )


def _lay_out(plan: Any, listed: list[Any], parts: list[ReportPart], part: ReportPart | None) -> None:
    """Put each listed action under its objective, and say where each objective's actions are.

    Sets on each objective: `listed` (its actions on this page), `part_number` (the part that lists
    its first action, None on a one-page report) and, on a part, `continued_from` / `continues_in`
    (the part before or after, when the objective is split between parts).
    """
    by_objective: dict[int, list[Any]] = {}
    for action in listed:
        by_objective.setdefault(action.objective_id, []).append(action)
    _format_dates(listed)
    for priority in plan.priorities.all():
        position = 0  # of the objective's first action among its priority's
        priority.parts = [p for p in parts if p.priority is priority]
        priority.listed_here = part is None or part.priority is priority
        for objective in priority.objectives.all():
            objective.listed = by_objective.get(objective.pk, [])
            objective.part_number = objective.continued_from = objective.continues_in = None
            if parts and objective.total:
                first = next(p for p in priority.parts if p.first <= position + 1 <= p.last)
                objective.part_number = first.number
                if part is not None and part.priority is priority:
                    if position + 1 < part.first <= position + objective.total:
                        objective.continued_from = part.number - 1
                    if position + 1 <= part.last < position + objective.total:
                        objective.continues_in = part.number + 1
            if part is None:
                objective.on_this_page = True
            elif part.priority is not priority:
                objective.on_this_page = False
            elif objective.total:
                objective.on_this_page = position < part.last and part.first <= position + objective.total
            else:
                # No action to place it by: with the actions before it, or on the priority's last part.
                objective.on_this_page = part.first - 1 <= position < part.last or part.last == position == part.total
            position += objective.total


def _format_dates(actions: list[Any]) -> None:
    """Set `start_shown`, `target_shown` and `updated_shown` ("1 Mar 2025"; "" for none) on each action.

    Formatted once per distinct day (a few hundred rows share few dates): the template's date filter
    on every cell was the largest part of rendering 500 rows.
    """
    shown: dict[datetime.date, str] = {}

    def day(value: datetime.date | None) -> str:
        if value is None:
            return ""
        if value not in shown:
            shown[value] = date_format(value, "j M Y")
        return shown[value]

    for action in actions:
        action.start_shown, action.target_shown = day(action.start_date), day(action.target_date)
        action.updated_shown = day(timezone.localtime(action.updated_then).date()) if action.updated_then else ""


def _person(prefix: str) -> Coalesce:
    """SQL for a user's full name, or their username when they have none (as User.__str__)."""
    full_name = Trim(Concat(f"{prefix}first_name", Value(" "), f"{prefix}last_name", output_field=CharField()))
    return Coalesce(NullIf(full_name, Value("")), f"{prefix}username", output_field=CharField())


def _report_action_rows(actions: ActionQuerySet, as_of: datetime.date) -> Iterator[list[Any]]:
    """The Actions sheet from values() rows: one query, typed cells, "last update" as a date and who made it."""
    end = timezone.make_aware(datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min))
    latest = ProgressUpdate.objects.filter(action=OuterRef("pk"), created_at__lt=end).order_by("-created_at", "-pk")
    # Who made the update the row shows: today's is the last update (as actions_as_of).
    updated_by: Coalesce | Subquery
    if as_of >= timezone.localdate():
        updated_by = _person("last_update__author__")
    else:
        updated_by = Subquery(latest.annotate(who=_person("author__")).values("who")[:1])
    rows = (
        actions_as_of(actions, as_of)
        .annotate(updated_by_then=updated_by)
        .order_by(
            "objective__priority__plan__title",
            "objective__priority__plan_id",
            "objective__priority__number",
            "objective__sort_key",
            "sort_key",
        )
        .values(
            "objective__priority__plan__title",
            "objective__priority__number",
            "objective__priority__title",
            "objective__code",
            "objective__title",
            "code",
            "title",
            "status_then",
            "note_then",
            "updated_then",
            "updated_by_then",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )
    )
    yield [
        "Plan",
        "Priority",
        "Objective",
        "Code",
        "Title",
        "Status",
        "Latest note",
        "Last update",
        "Last update by",
        "Owner",
    ]
    for row in rows.iterator(chunk_size=2000):
        updated = row["updated_then"]
        yield [
            row["objective__priority__plan__title"],
            f"{row['objective__priority__number']} {row['objective__priority__title']}",
            f"{row['objective__code']} {row['objective__title']}",
            row["code"],
            row["title"],
            Status(row["status_then"] or Status.NOT_STARTED).label,
            row["note_then"] or "",
            timezone.localtime(updated).date() if updated else None,
            (row["updated_by_then"] or "") if updated else "",
            person_name(row["owner__first_name"], row["owner__last_name"], row["owner__username"]),
        ]


def _report_indicator_rows(as_of: datetime.date, plan: Plan | None) -> Iterator[list[Any]]:
    """The Indicators sheet: numbers as numbers, the period's end as a date, each value as known on `as_of`."""
    measures: list[Any] = list(  # annotated with their values as of the date
        Measure.objects.filter(indicator__plan=plan, indicator__in=SuccessIndicator.objects.live_on(as_of))
        .select_related("indicator__plan")
        .order_by("indicator__plan__title", "indicator__plan_id", "indicator__position", "indicator__code", "pk")
    )
    # The same rule as the page: values recorded by then, with the corrections made by then.
    annotate_as_of(measures, as_of)
    units = dict(Measure.Unit.choices)
    yield ["Plan", "Indicator", "Measure", "Unit", "Baseline", "Target", "Latest value", "Period ending"]
    for measure in measures:
        value = measure.text_then if measure.unit == Measure.Unit.TEXT else measure.value_then
        yield [
            measure.indicator.plan.title,
            measure.indicator.statement,
            measure.name,
            units.get(measure.unit, measure.unit),
            measure.baseline_value,
            measure.target_value,
            value if value != "" else None,
            measure.period_end_then,
        ]


@dataclasses.dataclass
class ProgressReport:
    """The progress report's page: the plan (a list of it, or none) laid out, its summary, its parts."""

    plans: list[Plan]
    summary: list[dict[str, Any]]
    parts: list[ReportPart]
    part: ReportPart | None

    @property
    def total(self) -> int:
        return sum(row["count"] for row in self.summary)


def progress_report_data(*, user: User, as_of: datetime.date, plan: Plan | None, page: int) -> ProgressReport:
    """The report of `plan` as `user` may see it on `as_of`; of a plan too long for one page, its part `page`.

    Each listed action is under its objective (`objective.listed`, see _lay_out); a fixed number of
    queries, whatever the plan's size.
    """
    plans, summary = build_report(user, as_of, plan)
    parts = report_parts(plans[0] if plans else None)
    part = None
    if parts:
        part = parts[min(page, len(parts)) - 1]
    if plans:
        _lay_out(plans[0], list_actions(user, as_of, plans[0], part), parts, part)
    return ProgressReport(plans=plans, summary=summary, parts=parts, part=part)


def progress_report_sheets(
    *, user: User, as_of: datetime.date, plan: Plan | None
) -> list[tuple[str, Iterator[list[Any]] | list[list[Any]]]]:
    """The report as a workbook's sheets (Summary, Actions, Indicators), rows read as they are written."""
    actions = Action.objects.visible_to(user).live_on(as_of).filter(objective__priority__plan=plan)
    counts = dict(
        actions_as_of(actions, as_of)
        .order_by()
        .values_list("status_then")
        .annotate(n=Count("pk"))
        .values_list("status_then", "n")
    )
    counts[Status.NOT_STARTED] = counts.get(Status.NOT_STARTED, 0) + counts.pop(None, 0)
    summary_rows: list[list[Any]] = [["As of", "Status", "Actions"]]
    summary_rows += [[as_of, Status(status).label, counts.get(status, 0)] for status in STATUS_ORDER]
    return [
        ("Summary", summary_rows),
        ("Actions", _report_action_rows(actions, as_of)),
        ("Indicators", _report_indicator_rows(as_of, plan)),
    ]
