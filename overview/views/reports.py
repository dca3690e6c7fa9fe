"""The progress report: the whole plan as it stood on a chosen date, for print and for Excel."""

import datetime

from django import forms
from django.db.models import Case, CharField, Count, F, OuterRef, Prefetch, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from indicators.history import annotate_as_of
from indicators.models import Measure, SuccessIndicator
from priorities.charts import STATUS_ORDER
from priorities.models import Action, Objective, Plan, Priority, ProgressUpdate, Status
from priorities.plan_choice import current_plan, plan_switch
from tracker.access import Kind, record_access
from tracker.paging import page_of
from tracker.permissions import STAFF, role_required
from tracker.spreadsheets import person_name, xlsx_response


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


def build_report(user, as_of, plan):
    """The plan (a list of it, or none) with its priorities, objectives and indicators, and the summary, as of a date.

    Each item as it stood on the date: one archived later was live then, one archived by then was not.
    Each objective carries `counts_then` (in STATUS_ORDER) and `total` as of the date, counted in
    one grouped query: the page holds no action rows, so its size follows the plan's structure, not
    the number of actions (issue 18). The actions of one objective at a time are objective_actions().
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
        actions_as_of(Action.objects.visible_to(user).live_on(as_of).filter(objective__priority__plan=plan), as_of)
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
            for objective in priority.objectives.all():
                counts = by_objective.get(objective.pk, {})
                objective.counts_then = [counts.get(s, 0) for s in STATUS_ORDER]
                objective.total = sum(counts.values())
                for status, n in counts.items():
                    totals[status] = totals.get(status, 0) + n
    summary = [{"status": s, "label": Status(s).label, "count": totals.get(s, 0)} for s in STATUS_ORDER]
    return plans, summary


def objective_actions(user, objective, as_of):
    """The objective's actions the user may see, in code order, each with its status, note and update time then."""
    actions = Action.objects.visible_to(user).live_on(as_of).filter(objective=objective)
    return actions_as_of(actions, as_of).select_related("owner").order_by("sort_key", "pk")


def _chosen_objective(request, plans):
    """The objective named by ?objective=<id>, found among the objectives already loaded; anything else is none."""
    value = request.GET.get("objective", "")
    if not value.isdigit():
        return None
    for plan in plans:
        for priority in plan.priorities.all():
            for objective in priority.objectives.all():
                if str(objective.pk) == value:
                    objective.plan_title, objective.priority_number = plan.title, priority.number
                    return objective
    return None


def _as_of(request):
    # The box shows the date the heading names, also before anyone picks one (and beside ?objective=).
    form = AsOfForm(request.GET if request.GET.get("as_of") else None, initial={"as_of": timezone.localdate()})
    as_of = (form.cleaned_data.get("as_of") if form.is_valid() else None) or timezone.localdate()
    return form, as_of


@require_GET
@role_required(*STAFF)
def progress_report(request):
    """The summary per objective and the indicators; one objective's actions at a time, 50 a page.

    The whole report, every action with its latest note, is the Excel download.
    """
    form, as_of = _as_of(request)
    plans, summary = build_report(request.user, as_of, current_plan(request))
    objective = _chosen_objective(request, plans)
    page = None
    if objective:
        page = page_of(request, objective_actions(request.user, objective, as_of), count=objective.total)
    context = {
        "plan_slug": plan_switch(request).slug,
        "form": form,
        "as_of": as_of,
        "plans": plans,
        "summary": summary,
        "total": sum(s["count"] for s in summary),
        "objective": objective,
        "page": page,
    }
    if not form.errors:
        # The access log: the report as of a date, and how many actions it covered.
        what = f"Progress report as of {as_of:%Y-%m-%d}" + (f", objective {objective.code}" if objective else "")
        record_access(request, kind=Kind.REPORT, what=what, rows=context["total"])
    return render(request, "priorities/progress_report.html", context, status=400 if form.errors else 200)


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
