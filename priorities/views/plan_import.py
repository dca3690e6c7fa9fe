"""Import a plan from a spreadsheet: upload, preview every row's problems and changes, confirm, error report.

The same shape as the measurements import (indicators.views): the file is stored with a token
(PlanImport), only its uploader sees it, the preview re-reads it on every visit, and the
confirmation writes all of it or nothing (services.plan_import_confirm). Secretariat only.
"""

import datetime

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tracker.permissions import SECRETARIAT, role_required
from tracker.spreadsheets import csv_response, upload_stem, xlsx_response

from .. import services
from ..forms import PlanImportForm
from ..models import Plan, PlanImport, UpdateFrequency
from ..plan_import import COLUMNS, parse_plan_file

PREVIEW_ROWS_SHOWN = 100
CHANGED_ROWS_SHOWN = 100


@require_http_methods(["GET", "POST"])
@role_required(SECRETARIAT)
def plan_import_upload(request):
    """Upload a file for a chosen plan or a new one; it is stored and the preview shows every row's problems."""
    plans = Plan.objects.order_by("title", "pk")
    if request.method == "POST":
        form = PlanImportForm(request.POST, request.FILES, plans=plans)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            stored = services.plan_import_store(
                filename=upload.name,
                content=upload.read(),
                by=request.user,
                plan=form.cleaned_data["plan_object"],
                new_plan_title=form.cleaned_data["new_plan_title"],
            )
            return redirect(stored.get_absolute_url())
        status = 400
    else:
        form, status = PlanImportForm(plans=plans), 200
    return render(
        request,
        "priorities/plan_import/upload.html",
        {"form": form, "frequencies": UpdateFrequency.choices},
        status=status,
    )


def _own_import(request, token):
    # Only the person who uploaded a file sees it; anyone else gets the same 404 as for no file at all.
    return get_object_or_404(PlanImport.objects.select_related("plan"), pk=token, uploaded_by=request.user)


def _parse(upload, create_organisations=()):
    return parse_plan_file(
        filename=upload.filename,
        content=bytes(upload.content),
        plan=upload.plan,
        plan_title=upload.new_plan_title,
        create_organisations=create_organisations,
    )


def _render_preview(request, upload, preview, status=200):
    # At most PREVIEW_ROWS_SHOWN rows on the page; the error report lists every problem.
    only_errors = request.GET.get("show") == "errors"
    checked = preview.error_rows if only_errors else preview.checked_rows()
    changed = [row for row in preview.rows if row.changes]
    return render(
        request,
        "priorities/plan_import/preview.html",
        {
            "upload": upload,
            "preview": preview,
            "error_rows": preview.error_rows,
            "blocking_rows": preview.blocking_error_rows,
            "unconfirmed": preview.unconfirmed_organisations,
            "shown_rows": checked[:PREVIEW_ROWS_SHOWN],
            "rows_not_shown": max(len(checked) - PREVIEW_ROWS_SHOWN, 0),
            "only_errors": only_errors,
            "changed_rows": changed[:CHANGED_ROWS_SHOWN],
            "changed_not_shown": max(len(changed) - CHANGED_ROWS_SHOWN, 0),
            "new_organisations": sorted(preview.new_organisations.values(), key=str.casefold),
        },
        status=status,
    )


@require_GET
@role_required(SECRETARIAT)
def plan_import_preview(request, token):
    upload = _own_import(request, token)
    if upload.confirmed_at:
        return render(request, "priorities/plan_import/done.html", {"upload": upload})
    return _render_preview(request, upload, _parse(upload))


@require_GET
@role_required(SECRETARIAT)
def plan_import_errors(request, token):
    """Every problem of a stored upload as CSV: row, column, problem and the row's codes as read."""
    upload = _own_import(request, token)
    preview = _parse(upload)
    rows = [["row", "column", "problem", "priority", "objective", "action"]]
    rows += [["", "", error, "", "", ""] for error in preview.file_errors]
    for row, errors in preview.error_rows:
        for column, message in errors:
            rows.append(
                [row.number, column, message, row.cells["priority"], row.cells["objective"], row.cells["action"]]
            )
    # The uploader chose the file name: only safe characters go into the header.
    return csv_response(rows, f"plan-import-problems-{upload_stem(upload.filename)}.csv")


@require_POST
@role_required(SECRETARIAT)
def plan_import_confirm(request, token):
    """Write the file, adding the organisations ticked on the preview; any problem writes nothing (400)."""
    upload = _own_import(request, token)
    ticked = [name[:300] for name in request.POST.getlist("create_organisation")[:1000]]
    try:
        done = services.plan_import_confirm(upload=upload, by=request.user, create_organisations=ticked)
    except services.PlanImportAlreadyConfirmed:
        messages.info(request, f"{upload.filename} was imported already: nothing more was written.")
        return redirect(upload.get_absolute_url())
    except services.PlanImportNotValid as refused:
        return _render_preview(request, upload, refused.preview, status=400)
    messages.success(request, f"{done.rows_written:,} actions added or changed from {upload.filename}.")
    return redirect(upload.get_absolute_url())


@require_GET
@role_required(SECRETARIAT)
def plan_import_template(request, fmt):
    """A file to fill in: the columns and one example row."""
    year = timezone.localdate().year
    example = [
        1,
        "Stronger partnerships",
        "1.1",
        "Work with partners across borders",
        "1.1.1",
        "Joint investigation teams",
        "Set up joint investigation teams with partner agencies in other countries.",
        "Europol",
        "Eurojust; National Crime Agency",
        request.user.username,
        datetime.date(year, 1, 1),
        datetime.date(year + 2, 12, 31),
        UpdateFrequency.QUARTERLY.label,
    ]
    rows = [list(COLUMNS), example]
    if fmt == "csv":
        return csv_response(rows, "plan-template.csv")
    if fmt == "xlsx":
        return xlsx_response([("Plan", rows)], "plan-template.xlsx")
    raise Http404("A template is a csv or xlsx file.")
