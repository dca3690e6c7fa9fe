"""The progress report: the whole plan as it stood on a chosen date, for print and for Excel."""

import datetime

from django import forms
from django.db.models import OuterRef, Prefetch, Subquery
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from indicators.history import annotate_as_of
from indicators.models import Measure, SuccessIndicator
from tracker.permissions import STAFF, role_required
from tracker.spreadsheets import xlsx_response

from ..charts import STATUS_ORDER
from ..models import Action, Objective, Plan, Priority, ProgressUpdate, Status


class AsOfForm(forms.Form):
    as_of = forms.DateField(
        required=False,
        label="As it stood on",
        widget=forms.DateInput(attrs={"type": "date", "class": "govuk-input--width-10"}),
    )

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        if as_of and as_of > timezone.localdate():
            raise forms.ValidationError("The date must be today or in the past.")
        return as_of


def actions_as_of(actions, as_of):
    """Annotate each action with its status, note and update time as of the end of `as_of` (history replayed)."""
    end = timezone.make_aware(datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min))
    latest = ProgressUpdate.objects.filter(action=OuterRef("pk"), created_at__lt=end).order_by("-created_at", "-pk")
    return actions.annotate(
        status_then=Subquery(latest.values("status")[:1]),
        note_then=Subquery(latest.values("note")[:1]),
        updated_then=Subquery(latest.values("created_at")[:1]),
    )


def build_report(user, as_of):
    actions = actions_as_of(Action.objects.visible_to(user), as_of).select_related("owner").order_by("sort_key")
    plans = Plan.objects.prefetch_related(
        Prefetch(
            "priorities",
            queryset=Priority.objects.prefetch_related(
                Prefetch(
                    "objectives", queryset=Objective.objects.prefetch_related(Prefetch("actions", queryset=actions))
                )
            ),
        ),
        Prefetch(
            "indicators",
            queryset=SuccessIndicator.objects.prefetch_related("measures"),
        ),
    )
    plans = list(plans)
    # Indicator values as known on the date: recorded by then, as then corrected.
    annotate_as_of([m for plan in plans for i in plan.indicators.all() for m in i.measures.all()], as_of)
    counts = {}
    for plan in plans:
        for priority in plan.priorities.all():
            for objective in priority.objectives.all():
                for action in objective.actions.all():
                    action.status_then = action.status_then or Status.NOT_STARTED
                    counts[action.status_then] = counts.get(action.status_then, 0) + 1
    summary = [{"status": s, "label": Status(s).label, "count": counts.get(s, 0)} for s in STATUS_ORDER]
    return plans, summary


def _as_of(request):
    form = AsOfForm(request.GET or None)
    as_of = (form.cleaned_data.get("as_of") if form.is_valid() else None) or timezone.localdate()
    return form, as_of


@require_GET
@role_required(*STAFF)
def progress_report(request):
    form, as_of = _as_of(request)
    plans, summary = build_report(request.user, as_of)
    context = {
        "form": form,
        "as_of": as_of,
        "plans": plans,
        "summary": summary,
        "total": sum(s["count"] for s in summary),
    }
    return render(request, "priorities/progress_report.html", context, status=400 if form.errors else 200)


@require_GET
@role_required(*STAFF)
def progress_report_xlsx(request):
    form, as_of = _as_of(request)
    plans, summary = build_report(request.user, as_of)
    summary_rows = [["Progress report as of", as_of.isoformat()], ["Status", "Actions"]]
    summary_rows += [[row["label"], row["count"]] for row in summary]
    action_rows = [["Plan", "Priority", "Objective", "Code", "Title", "Status", "Latest note", "Updated", "Owner"]]
    indicator_rows = [["Plan", "Indicator", "Measure", "Unit", "Baseline", "Target", "Latest value", "Period ending"]]
    for plan in plans:
        for priority in plan.priorities.all():
            for objective in priority.objectives.all():
                for action in objective.actions.all():
                    action_rows.append(
                        [
                            plan.title,
                            f"{priority.number} {priority.title}",
                            f"{objective.code} {objective.title}",
                            action.code,
                            action.title,
                            Status(action.status_then).label,
                            action.note_then or "",
                            timezone.localtime(action.updated_then).strftime("%Y-%m-%d") if action.updated_then else "",
                            str(action.owner or ""),
                        ]
                    )
        for indicator in plan.indicators.all():
            for measure in indicator.measures.all():
                value = measure.text_then if measure.unit == Measure.Unit.TEXT else measure.value_then
                indicator_rows.append(
                    [
                        plan.title,
                        indicator.statement,
                        measure.name,
                        measure.get_unit_display(),
                        measure.baseline_value if measure.baseline_value is not None else "",
                        measure.target_value if measure.target_value is not None else "",
                        value if value not in (None, "") else "",
                        measure.period_end_then.isoformat() if measure.period_end_then else "",
                    ]
                )
    return xlsx_response(
        [("Summary", summary_rows), ("Actions", action_rows), ("Indicators", indicator_rows)],
        f"progress-report-{as_of:%Y-%m-%d}.xlsx",
    )
