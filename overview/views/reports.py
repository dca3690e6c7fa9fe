"""The progress report: the whole plan as it stood on a chosen date, every action listed, for print and for Excel."""

import dataclasses
import datetime

from django import forms
from django.db.models import Case, CharField, Count, F, OuterRef, Prefetch, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_GET

from indicators.history import annotate_as_of
from indicators.models import Measure, SuccessIndicator
from priorities.charts import STATUS_ORDER
from priorities.models import Action, ActionPartner, Objective, Plan, Priority, ProgressUpdate, Status
from priorities.plan_choice import current_plan, plan_switch
from tracker.access import Kind, record_access
from tracker.paging import page_number, page_of
from tracker.permissions import STAFF, role_required
from tracker.spreadsheets import person_name, xlsx_response
from tracker.sql import JoinedText


class AsOfForm(forms.Form):
    as_of = forms.DateField(
        required=False,
        label="As it stood on",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", "class": "govuk-input--width-10"}),
    )

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        if as_of and as_of > timezone.localdate():
            raise forms.ValidationError("The date must be today or in the past.")
        return as_of


def actions_as_of(actions, as_of):
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


def build_report(user, as_of, plan):
    """The plan (a list of it, or none) with its priorities, objectives and indicators, and the summary, as of a date.

    Each item as it stood on the date: one archived later was live then, one archived by then was not.
    Each objective carries `counts_then` (in STATUS_ORDER) and `total` as of the date, each priority
    its `total`, counted in one grouped query. The actions themselves are listed by list_actions().
    """
    plans = Plan.objects.filter(pk=plan.pk if plan else None).prefetch_related(
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
    plans = list(plans)
    # Indicator values as known on the date: recorded by then, as then corrected.
    annotate_as_of([m for plan in plans for i in plan.indicators.all() for m in i.measures.all()], as_of)
    by_objective = {}
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
    totals = {}
    for plan in plans:
        for priority in plan.priorities.all():
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


def report_actions(user, as_of):
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


def report_parts(plan, limit=REPORT_ACTIONS_LIMIT):
    """The parts of the plan's report, by priority, each of at most `limit` actions; [] when one page holds it all.

    A priority with more than `limit` actions is in several parts; one without actions is in none
    (its objectives' counts are on every part). Worked out from the counts build_report() made.
    """
    if plan is None or sum(priority.total for priority in plan.priorities.all()) <= limit:
        return []
    parts = []
    for priority in plan.priorities.all():
        for start in range(0, priority.total, limit):
            last = min(start + limit, priority.total)
            parts.append(ReportPart(len(parts) + 1, priority, start + 1, last, priority.total))
    return parts


def list_actions(user, as_of, plan, part=None, limit=REPORT_ACTIONS_LIMIT):
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


def _lay_out(plan, listed, parts, part):
    """Put each listed action under its objective, and say where each objective's actions are.

    Sets on each objective: `listed` (its actions on this page), `part_number` (the part that lists
    its first action, None on a one-page report) and, on a part, `continued_from` / `continues_in`
    (the part before or after, when the objective is split between parts).
    """
    by_objective = {}
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


def _format_dates(actions):
    """Set `start_shown`, `target_shown` and `updated_shown` ("1 Mar 2025"; "" for none) on each action.

    Formatted once per distinct day (a few hundred rows share few dates): the template's date filter
    on every cell was the largest part of rendering 500 rows.
    """
    shown = {}

    def day(value):
        if value is None:
            return ""
        if value not in shown:
            shown[value] = date_format(value, "j M Y")
        return shown[value]

    for action in actions:
        action.start_shown, action.target_shown = day(action.start_date), day(action.target_date)
        action.updated_shown = day(timezone.localtime(action.updated_then).date()) if action.updated_then else ""


@require_GET
@role_required(*STAFF)
def progress_report(request):
    """The plan as it stood on a date: the summary per objective, the indicators and every action.

    A plan of up to REPORT_ACTIONS_LIMIT actions is listed whole, each action under its objective;
    a larger one in parts by priority (?page=). Printed, it is the same document on A4.
    """
    form, as_of = _as_of(request)
    plan = current_plan(request)
    plans, summary = build_report(request.user, as_of, plan)
    parts = report_parts(plans[0] if plans else None)
    part = None
    if parts:
        part = parts[min(page_number(request), len(parts)) - 1]
    if plans:
        _lay_out(plans[0], list_actions(request.user, as_of, plans[0], part), parts, part)
    context = {
        "plan_slug": plan_switch(request).slug,
        "form": form,
        "as_of": as_of,
        "in_the_past": as_of < timezone.localdate(),
        "plans": plans,
        "summary": summary,
        "total": sum(s["count"] for s in summary),
        "limit": REPORT_ACTIONS_LIMIT,
        "parts": parts,
        "part": part,
        "page": _parts_page(request, parts, part),
    }
    if not form.errors:
        # The access log: the report as of a date, and how many actions it covered.
        what = f"Progress report as of {as_of:%Y-%m-%d}" + (f", part {part.number} of {len(parts)}" if part else "")
        rows = part.last - part.first + 1 if part else context["total"]
        record_access(request, kind=Kind.REPORT, what=what, rows=rows)
    return render(request, "priorities/progress_report.html", context, status=400 if form.errors else 200)


def _parts_page(request, parts, part):
    """The parts as a page of GOV.UK pagination (includes/pagination.html), or None on a one-page report."""
    if part is None:
        return None
    return page_of(request, list(range(len(parts))), per_page=1)


def _as_of(request):
    # The box shows the date the heading names, also before anyone picks one.
    form = AsOfForm(request.GET if request.GET.get("as_of") else None, initial={"as_of": timezone.localdate()})
    as_of = (form.cleaned_data.get("as_of") if form.is_valid() else None) or timezone.localdate()
    return form, as_of


def _person(prefix):
    """SQL for a user's full name, or their username when they have none (as User.__str__)."""
    full_name = Trim(Concat(f"{prefix}first_name", Value(" "), f"{prefix}last_name", output_field=CharField()))
    return Coalesce(NullIf(full_name, Value("")), f"{prefix}username", output_field=CharField())


def _report_action_rows(actions, as_of):
    """The Actions sheet from values() rows: one query, typed cells, "last update" as a date and who made it."""
    end = timezone.make_aware(datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min))
    latest = ProgressUpdate.objects.filter(action=OuterRef("pk"), created_at__lt=end).order_by("-created_at", "-pk")
    # Who made the update the row shows: today's is the last update (as actions_as_of).
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


def _report_indicator_rows(as_of, plan):
    """The Indicators sheet: numbers as numbers, the period's end as a date, each value as known on `as_of`."""
    measures = list(
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


@require_GET
@role_required(*STAFF)
def progress_report_xlsx(request):
    """The report as a workbook (Summary, Actions, Indicators), written row by row from values() queries."""
    form, as_of = _as_of(request)
    plan = current_plan(request)
    actions = Action.objects.visible_to(request.user).live_on(as_of).filter(objective__priority__plan=plan)
    counts = dict(
        actions_as_of(actions, as_of)
        .order_by()
        .values_list("status_then")
        .annotate(n=Count("pk"))
        .values_list("status_then", "n")
    )
    counts[Status.NOT_STARTED] = counts.get(Status.NOT_STARTED, 0) + counts.pop(None, 0)
    summary_rows = [["As of", "Status", "Actions"]]
    summary_rows += [[as_of, Status(status).label, counts.get(status, 0)] for status in STATUS_ORDER]
    return xlsx_response(
        [
            ("Summary", summary_rows),
            ("Actions", _report_action_rows(actions, as_of)),
            ("Indicators", _report_indicator_rows(as_of, plan)),
        ],
        f"progress-report-{as_of:%Y-%m-%d}.xlsx",
    )
