"""Import a plan from a spreadsheet: upload, preview every row's problems and changes, confirm, error report.

The pages every import has (tracker.imports): the file is stored with a token (PlanImport), only its
uploader sees it, the preview re-reads it on every visit, and the confirmation writes all of it or
nothing (services.plan_import_confirm). Secretariat only.
"""

import datetime
from typing import Any

from django.db.models import QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.views.decorators.http import require_GET

from priorities.models import Plan, UpdateFrequency
from tracker import imports
from tracker.permissions import SECRETARIAT, role_required, signed_in_user

from . import services
from .forms import PlanImportForm
from .models import PlanImport
from .reading import COLUMNS, PlanPreview, PlanRow, parse_plan_file

CHANGED_ROWS_SHOWN = 100
URL_NAMES = {
    "upload": "plan_imports:plan-import-upload",
    "preview": "plan_imports:plan-import-preview",
    "confirm": "plan_imports:plan-import-confirm",
    "errors": "plan_imports:plan-import-errors",
}


class PlanImportUploadView(imports.ImportUploadView):
    """Upload a file for a chosen plan or a new one; it is stored and the preview shows every row's problems."""

    template_name = "plan_imports/upload.html"
    form_class = PlanImportForm
    http_method_names = ["get", "post"]

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "plans": Plan.objects.order_by("title", "pk")}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "frequencies": UpdateFrequency.choices}

    def store(self, form: Form) -> PlanImport:
        upload = form.cleaned_data["file"]
        return services.plan_import_store(
            filename=upload.name,
            content=upload.read(),
            by=signed_in_user(self.request),
            plan=form.cleaned_data["plan_object"],
            new_plan_title=form.cleaned_data["new_plan_title"],
        )


class PlanImportPages(imports.ImportPages[PlanImport, PlanPreview]):
    """The preview (with the changes to actions and the organisations to add), error report and confirmation."""

    model = PlanImport
    heading = "Check the plan import"
    preview_template = "plan_imports/preview.html"
    done_template = "plan_imports/done.html"
    url_names = URL_NAMES
    report_name = "plan-import-problems"
    report_columns = ("priority", "objective", "action")
    confirmed_message = "{rows:,} actions added or changed from {filename}."
    row_headings = ("Priority", "Objective", "Action", "Title", "Result")

    def queryset(self) -> QuerySet[PlanImport]:
        return PlanImport.objects.select_related("plan")

    def parse(self, upload: PlanImport, request: HttpRequest | None = None) -> PlanPreview:
        return parse_plan_file(
            filename=upload.filename,
            content=bytes(upload.content),
            plan=upload.plan,
            plan_title=upload.new_plan_title,
        )

    def confirm_upload(self, request: HttpRequest, upload: PlanImport) -> int:
        # The organisations ticked on the preview are added; the names are bounded as a form field would be.
        ticked = [name[:300] for name in request.POST.getlist("create_organisation")[:1000]]
        done = services.plan_import_confirm(upload=upload, by=signed_in_user(request), create_organisations=ticked)
        return done.rows_written

    def report_cells(self, row: PlanRow) -> list[str]:
        return [row.cells["priority"], row.cells["objective"], row.cells["action"]]

    def extra_context(self, preview: PlanPreview) -> dict[str, Any]:
        changed = [row for row in preview.rows if row.changes]
        return {
            "unconfirmed": preview.unconfirmed_organisations,
            "changed_rows": changed[:CHANGED_ROWS_SHOWN],
            "changed_not_shown": max(len(changed) - CHANGED_ROWS_SHOWN, 0),
            "new_organisations": sorted(preview.new_organisations.values(), key=str.casefold),
        }


plan_import_preview, plan_import_errors, plan_import_confirm = PlanImportPages().views()


@require_GET
@role_required(SECRETARIAT)
def plan_import_template(request: HttpRequest, fmt: str) -> HttpResponseBase:
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
    return imports.template_response([list(COLUMNS), example], fmt=fmt, name="plan-template", sheet="Plan")
