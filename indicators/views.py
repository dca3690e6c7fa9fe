import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import DetailView, FormView, ListView

from priorities.models import Action, Plan
from priorities.plan_choice import current_plan, plan_switch
from priorities.scheduling import add_months
from priorities.services import AlreadyDecidedError
from tracker import imports
from tracker.forms import apply_errors
from tracker.models import User
from tracker.permissions import COMMISSIONER, PARTNER, SECRETARIAT, RoleRequiredMixin, role_required, signed_in_user
from tracker.spreadsheets import csv_response, xlsx_response

from . import exporting, services
from .charts import build_trend_chart
from .forms import ImportForm, IndicatorForm, LinkActionsForm, MeasureForm, MeasurementForm, MeasurementSubmissionForm
from .importing import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, ImportPreview, ImportRow, parse_measurements_file
from .models import Measure, Measurement, MeasurementImport, MeasurementSubmission, SuccessIndicator

READERS = (SECRETARIAT, COMMISSIONER, PARTNER)
CHANGES_SHOWN = 50
LINKED_ACTIONS_SHOWN = 50


class IndicatorListView(RoleRequiredMixin, ListView):
    """Every indicator with its measures' latest values and progress, and the mix of linked actions' statuses."""

    allowed_roles = READERS
    template_name = "indicators/indicator_list.html"
    context_object_name = "indicators"

    def get_queryset(self):
        return SuccessIndicator.objects.live().for_overview(self.request.user).filter(plan=current_plan(self.request))

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "plan_slug": plan_switch(self.request).slug}


class IndicatorDetailView(RoleRequiredMixin, DetailView):
    allowed_roles = READERS
    template_name = "indicators/indicator_detail.html"
    context_object_name = "indicator"

    def get_queryset(self):
        return SuccessIndicator.objects.for_page(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        indicator = self.object
        measures = list(indicator.measures.all())
        context["measures"] = [
            (measure, build_trend_chart(measure=measure, measurements=measure.measurements.all()))
            for measure in measures
        ]
        changes = list(indicator.changes.select_related("changed_by")[: CHANGES_SHOWN + 1])
        _attach_reviews(changes)
        user = self.request.user
        assert isinstance(user, User)  # RoleRequiredMixin let in only a signed-in person
        if user.is_partner:
            _hide_other_actions(changes, user)
        context["changes"] = changes[:CHANGES_SHOWN]
        context["more_changes"] = len(changes) > CHANGES_SHOWN
        context["can_edit"] = user.is_secretariat
        if indicator.is_archived and context["can_edit"]:
            context["restore_url"] = reverse("indicators:indicator-restore", kwargs={"pk": indicator.pk})
        # At most LINKED_ACTIONS_SHOWN rows (issue 18: bounded pages); the register lists them all.
        context["linked_shown"], context["linked_slice"] = LINKED_ACTIONS_SHOWN, f":{LINKED_ACTIONS_SHOWN}"
        return context


def _attach_reviews(changes):
    """Give each change made by accepting a partner's value its submission (`change.review`), in one query.

    The accepted value is recorded at the moment of acceptance, so measure and time name it.
    """
    reviewed = [change for change in changes if change.via == "review" and change.measure_id]
    if not reviewed:
        return
    submissions = MeasurementSubmission.objects.filter(
        measure_id__in={change.measure_id for change in reviewed},
        measurement__recorded_at__in={change.changed_at for change in reviewed},
    ).select_related("submitted_by", "organisation", "decided_by", "measurement")
    # Every one has its measurement (the filter above goes through it).
    by_moment = {(s.measure_id, s.measurement.recorded_at): s for s in submissions if s.measurement is not None}
    for change in reviewed:
        change.review = by_moment.get((change.measure_id, change.changed_at))


def _hide_other_actions(changes, user):
    """A partner sees the codes of their own organisation's actions in link changes, and only a count of the rest."""
    link_changes = [change for change in changes if change.field == "actions"]
    if not link_changes:
        return
    own = set(Action.objects.visible_to(user).values_list("code", flat=True))
    for change in link_changes:
        for name in ("old_value", "new_value"):
            codes = [code.strip() for code in getattr(change, name).split(",") if code.strip()]
            shown = [code for code in codes if code in own]
            others = len(codes) - len(shown)
            if others == 1:
                shown.append("1 action of another organisation")
            elif others:
                shown.append(f"{others} actions of other organisations")
            setattr(change, name, ", ".join(shown))


class SecretariatFormView(RoleRequiredMixin, FormView):
    """A secretariat form whose valid data goes to a service; the service's refusals show on the form."""

    allowed_roles = (SECRETARIAT,)

    def load(self):
        """Fetch the objects the page is about (404 if missing); runs after the role check."""

    def save(self, form):
        """Hand the form's valid data to a service (each view says which)."""
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        self.load()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.load()
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            self.save(form)
        except ValidationError as error:
            apply_errors(form, error)
            return self.form_invalid(form)
        return redirect(self.get_success_url())

    def form_invalid(self, form):
        # 400, like every other form in the app, so scripts and tests can tell a refusal from a page.
        return self.render_to_response(self.get_context_data(form=form), status=400)


class IndicatorCreateView(SecretariatFormView):
    """Add a success indicator to a plan; then link its actions and define its measures."""

    template_name = "priorities/plan_edit/form.html"
    form_class = IndicatorForm

    def load(self):
        self.plan = get_object_or_404(Plan, pk=self.kwargs["plan_pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            title="Add a success indicator",
            caption=self.plan.title,
            button="Add the indicator",
            back_url=f"{reverse('priorities:plan')}#indicators-{self.plan.pk}",
            **kwargs,
        )

    def save(self, form):
        self.indicator = services.indicator_create(plan=self.plan, by=signed_in_user(self.request), **form.cleaned_data)
        messages.success(self.request, f"Indicator {self.indicator.code} added: link its actions next.")

    def get_success_url(self):
        return reverse("indicators:indicator-actions", kwargs={"pk": self.indicator.pk})


class IndicatorUpdateView(SecretariatFormView):
    """Change an indicator's code or statement; its history is recorded with the rest of the indicator's."""

    template_name = "priorities/plan_edit/form.html"
    form_class = IndicatorForm

    def load(self):
        self.indicator = get_object_or_404(SuccessIndicator.objects.select_related("plan"), pk=self.kwargs["pk"])

    def get_initial(self):
        return {field: getattr(self.indicator, field) for field in services.INDICATOR_FIELDS}

    def get_context_data(self, **kwargs):
        changes = self.indicator.changes.filter(measure__isnull=True, subject="Indicator").select_related("changed_by")[
            :CHANGES_SHOWN
        ]
        return super().get_context_data(
            title=f"Edit indicator {self.indicator.code}",
            caption=self.indicator.plan.title,
            button="Save changes",
            back_url=self.indicator.get_absolute_url(),
            changes=list(changes),
            show_history=True,
            **kwargs,
        )

    def save(self, form):
        changes = services.indicator_update(
            indicator=self.indicator, by=signed_in_user(self.request), **form.cleaned_data
        )
        messages.success(self.request, "Indicator saved." if changes else "Nothing was changed.")

    def get_success_url(self):
        return self.indicator.get_absolute_url()


class MeasureCreateView(SecretariatFormView):
    template_name = "indicators/measure_form.html"
    form_class = MeasureForm

    def load(self):
        self.indicator = get_object_or_404(SuccessIndicator, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(indicator=self.indicator, measure=None, **kwargs)

    def save(self, form):
        self.measure = services.measure_create(
            indicator=self.indicator, by=signed_in_user(self.request), **form.cleaned_data
        )
        messages.success(self.request, f"Measure “{self.measure.name}” added.")

    def get_success_url(self):
        return f"{self.indicator.get_absolute_url()}#measure-{self.measure.pk}"


class MeasureUpdateView(SecretariatFormView):
    template_name = "indicators/measure_form.html"
    form_class = MeasureForm

    def load(self):
        self.measure = get_object_or_404(Measure.objects.select_related("indicator"), pk=self.kwargs["pk"])
        self.indicator = self.measure.indicator

    def get_initial(self):
        return {field: getattr(self.measure, field) for field in services.MEASURE_FIELDS}

    def get_context_data(self, **kwargs):
        return super().get_context_data(indicator=self.indicator, measure=self.measure, **kwargs)

    def save(self, form):
        changes = services.measure_update(measure=self.measure, by=signed_in_user(self.request), **form.cleaned_data)
        messages.success(self.request, "Measure saved." if changes else "Nothing was changed.")

    def get_success_url(self):
        return f"{self.indicator.get_absolute_url()}#measure-{self.measure.pk}"


class MeasurementCreateView(SecretariatFormView):
    template_name = "indicators/measurement_form.html"
    form_class = MeasurementForm

    def load(self):
        self.measure = get_object_or_404(Measure.objects.select_related("indicator"), pk=self.kwargs["pk"])

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "measure": self.measure}

    def get_context_data(self, **kwargs):
        return super().get_context_data(measure=self.measure, measurement=None, **kwargs)

    def save(self, form):
        measurement = services.measurement_record(
            measure=self.measure, by=signed_in_user(self.request), **form.cleaned_data
        )
        messages.success(self.request, f"Value recorded for {measurement.period_label}.")

    def get_success_url(self):
        return f"{self.measure.indicator.get_absolute_url()}#measure-{self.measure.pk}"


class MeasurementUpdateView(SecretariatFormView):
    template_name = "indicators/measurement_form.html"
    form_class = MeasurementForm

    def load(self):
        self.measurement = get_object_or_404(
            Measurement.objects.select_related("measure__indicator"), pk=self.kwargs["pk"]
        )
        self.measure = self.measurement.measure

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "measure": self.measure}

    def get_initial(self):
        return {field: getattr(self.measurement, field) for field in services.MEASUREMENT_FIELDS}

    def get_context_data(self, **kwargs):
        return super().get_context_data(measure=self.measure, measurement=self.measurement, **kwargs)

    def save(self, form):
        changes = services.measurement_correct(
            measurement=self.measurement, by=signed_in_user(self.request), **form.cleaned_data
        )
        messages.success(self.request, "Measurement corrected." if changes else "Nothing was changed.")

    def get_success_url(self):
        return f"{self.measure.indicator.get_absolute_url()}#measure-{self.measure.pk}"


class IndicatorActionsView(SecretariatFormView):
    template_name = "indicators/indicator_actions_form.html"
    form_class = LinkActionsForm

    def load(self):
        self.indicator = get_object_or_404(SuccessIndicator.objects.select_related("plan"), pk=self.kwargs["pk"])

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "indicator": self.indicator}

    def get_initial(self):
        return {"actions": list(self.indicator.actions.values_list("pk", flat=True))}

    def get_context_data(self, **kwargs):
        return super().get_context_data(indicator=self.indicator, **kwargs)

    def save(self, form):
        change = services.indicator_set_actions(
            indicator=self.indicator, actions=form.cleaned_data["actions"], by=signed_in_user(self.request)
        )
        messages.success(self.request, "Linked actions saved." if change else "Nothing was changed.")

    def get_success_url(self):
        return f"{self.indicator.get_absolute_url()}#linked-actions"


@require_POST
@role_required(SECRETARIAT)
def indicator_unlink_action(request, pk, action_pk):
    indicator = get_object_or_404(SuccessIndicator, pk=pk)
    action = get_object_or_404(indicator.actions.all(), pk=action_pk)
    services.indicator_unlink_action(indicator=indicator, action=action, by=request.user)
    messages.success(request, f"Action {action.code} is no longer linked to {indicator.code}.")
    return redirect(f"{indicator.get_absolute_url()}#linked-actions")


class ImportUploadView(imports.ImportUploadView):
    """Upload a file; it is stored (see MeasurementImport) and the preview shows every row's errors."""

    template_name = "indicators/import_upload.html"
    form_class = ImportForm

    def store(self, form: Form) -> MeasurementImport:
        upload = form.cleaned_data["file"]
        return services.measurement_import_store(
            filename=upload.name, content=upload.read(), by=signed_in_user(self.request)
        )


class MeasurementImportPages(imports.ImportPages[MeasurementImport, ImportPreview]):
    """The preview, error report and confirmation of a measurements file (tracker.imports)."""

    model = MeasurementImport
    preview_template = "indicators/import_preview.html"
    done_template = "indicators/import_done.html"
    url_names = {
        "upload": "indicators:import-upload",
        "preview": "indicators:import-preview",
        "confirm": "indicators:import-confirm",
        "errors": "indicators:import-errors",
    }
    report_name = "import-problems"
    report_columns = ("measure", "period", "value")
    confirmed_message = "{rows:,} measurements imported from {filename}."
    row_headings = ("Measure", "Period", "Value", "Source", "Note", "Problems")

    def parse(self, upload: MeasurementImport, request: HttpRequest | None = None) -> ImportPreview:
        return parse_measurements_file(filename=upload.filename, content=bytes(upload.content))

    def confirm_upload(self, request: HttpRequest, upload: MeasurementImport) -> int:
        return services.measurement_import_confirm(upload=upload, by=signed_in_user(request))

    def report_cells(self, row: ImportRow) -> list[str]:
        return [row.cells.get("measure", ""), row.period_cell, row.cells.get("value", "")]


import_preview, import_errors, import_confirm = MeasurementImportPages().views()


@require_GET
@role_required(SECRETARIAT)
def import_template(request, fmt):
    """A file to fill in for the import: its columns and one example row, for a real measure when there is one."""
    measure = (
        Measure.objects.select_related("indicator").order_by("indicator__position", "indicator__code", "pk").first()
    )
    if measure is not None:
        start = datetime.date(timezone.localdate().year - 1, 1, 1)
        end = add_months(start, measure.reporting_period) - datetime.timedelta(days=1)
        value = "12" if measure.is_numeric else "Guidance published"
        example = [measure.name, start, end, value, "Where the figure comes from", "", measure.indicator.code]
    else:
        year = timezone.localdate().year - 1
        example = [
            "Joint investigation teams",
            datetime.date(year, 1, 1),
            datetime.date(year, 12, 31),
            "12",
            "",
            "",
            "",
        ]
    rows = [list(REQUIRED_COLUMNS + OPTIONAL_COLUMNS), example]
    return imports.template_response(rows, fmt=fmt, name="measurements-template", sheet="Measurements")


@require_GET
@role_required(*READERS)
def export_measurements(request, fmt, pk=None):
    """All measurements, or one indicator's, as CSV or Excel."""
    measurements = Measurement.objects.order_by(
        "measure__indicator__plan",
        "measure__indicator__position",
        "measure__indicator__code",
        "measure",
        "period_start",
    )
    if pk is not None:
        indicator = get_object_or_404(SuccessIndicator, pk=pk)
        measurements = measurements.filter(measure__indicator=indicator)
        name = f"measurements-{indicator.code}"
    else:
        # Archived indicators leave the lists; their own page still downloads their values.
        measurements = measurements.filter(measure__indicator__archived_at__isnull=True)
        name = "measurements-all"
    name = f"{name}-{timezone.localdate():%Y-%m-%d}"
    if fmt == "csv":
        return csv_response(exporting.measurement_rows(measurements), f"{name}.csv")
    if fmt == "xlsx":
        return xlsx_response([("Measurements", exporting.measurement_rows(measurements))], f"{name}.xlsx")
    raise Http404("Export as csv or xlsx.")


# --- partners report values; the secretariat reviews them in the shared queue -------------------


class MeasurementSubmitView(RoleRequiredMixin, FormView):
    """A partner reports a value for a measure their organisation reports (404 for any other measure)."""

    allowed_roles = (PARTNER,)
    template_name = "indicators/measurement_submit.html"
    form_class = MeasurementSubmissionForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.role == PARTNER:
            self.measure = get_object_or_404(
                Measure.objects.select_related("indicator"),
                pk=kwargs["pk"],
                reporting_organisation_id=request.user.organisation_id,
            )
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "measure": self.measure}

    def get_context_data(self, **kwargs):
        return super().get_context_data(measure=self.measure, **kwargs)

    def form_valid(self, form):
        try:
            services.measurement_submission_create(
                measure=self.measure, by=signed_in_user(self.request), **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Value for {self.measure.name} submitted. The secretariat will review it before it is official.",
        )
        return redirect(f"{self.measure.indicator.get_absolute_url()}#measure-{self.measure.pk}")

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


@require_POST
@role_required(SECRETARIAT)
def measurement_submission_accept_view(request, pk):
    submission = get_object_or_404(MeasurementSubmission.objects.select_related("measure"), pk=pk)
    try:
        measurement = services.measurement_submission_accept(submission=submission, by=request.user)
    except AlreadyDecidedError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(
            request,
            f"This value cannot be accepted as it stands ({' '.join(error.messages)}). "
            "Return it to the partner with a reason instead.",
        )
    else:
        messages.success(
            request,
            f"Accepted: {submission.measure.name} is {measurement.display_value} for {measurement.period_label}.",
        )
    return redirect("overview:review-queue")


@require_POST
@role_required(SECRETARIAT)
def measurement_submission_return_view(request, pk):
    submission = get_object_or_404(MeasurementSubmission.objects.select_related("measure", "organisation"), pk=pk)
    try:
        services.measurement_submission_return(
            submission=submission, by=request.user, reason=request.POST.get("reason")
        )
    except AlreadyDecidedError as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Returned to {submission.organisation} with your reason.")
    return redirect("overview:review-queue")
