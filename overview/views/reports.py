"""The progress report: the whole plan as it stood on a chosen date, every action listed, for print and for Excel."""

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from overview.page_data import REPORT_ACTIONS_LIMIT, progress_report_data, progress_report_sheets
from priorities.plan_choice import current_plan, plan_switch
from tracker.access import Kind, record_access
from tracker.paging import page_number, page_of
from tracker.permissions import STAFF, role_required
from tracker.spreadsheets import xlsx_response


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


@require_GET
@role_required(*STAFF)
def progress_report(request):
    """The plan as it stood on a date: the summary per objective, the indicators and every action.

    A plan of up to REPORT_ACTIONS_LIMIT actions is listed whole, each action under its objective;
    a larger one in parts by priority (?page=). Printed, it is the same document on A4.
    """
    form, as_of = _as_of(request)
    report = progress_report_data(user=request.user, as_of=as_of, plan=current_plan(request), page=page_number(request))
    parts, part = report.parts, report.part
    context = {
        "plan_slug": plan_switch(request).slug,
        "form": form,
        "as_of": as_of,
        "in_the_past": as_of < timezone.localdate(),
        "plans": report.plans,
        "summary": report.summary,
        "total": report.total,
        "limit": REPORT_ACTIONS_LIMIT,
        "parts": parts,
        "part": part,
        "page": _parts_page(request, parts, part),
    }
    if not form.errors:
        # The access log: the report as of a date, and how many actions it covered.
        what = f"Progress report as of {as_of:%Y-%m-%d}" + (f", part {part.number} of {len(parts)}" if part else "")
        rows = part.last - part.first + 1 if part else report.total
        record_access(request, kind=Kind.REPORT, what=what, rows=rows)
    return render(request, "overview/progress_report.html", context, status=400 if form.errors else 200)


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


@require_GET
@role_required(*STAFF)
def progress_report_xlsx(request):
    """The report as a workbook (Summary, Actions, Indicators), written row by row from values() queries."""
    _form, as_of = _as_of(request)
    sheets = progress_report_sheets(user=request.user, as_of=as_of, plan=current_plan(request))
    return xlsx_response(sheets, f"progress-report-{as_of:%Y-%m-%d}.xlsx")
