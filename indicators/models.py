import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Prefetch, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from priorities.models import Action, Archivable, live_on_q, live_q
from priorities.scheduling import add_months
from tracker.history import ChangeRecord, ChangeSubject, changed_by_field
from tracker.imports import StoredUpload

from .progress import format_value, period_label, progress_percent


class SuccessIndicatorQuerySet(models.QuerySet):
    def live(self):
        """Indicators not archived: the lists, the dashboard and the public pages show only these."""
        return self.filter(live_q())

    def live_on(self, day):
        """Indicators live at the end of `day` (the progress report as of that day)."""
        return self.filter(live_on_q(day))

    def for_overview(self, user):
        """Indicators with their measures (latest value annotated) and the linked actions `user` may see."""
        return self.select_related("plan").prefetch_related(
            Prefetch(
                "measures",
                queryset=Measure.objects.with_latest().select_related("reporting_organisation"),
            ),
            Prefetch(
                "actions",
                queryset=Action.objects.visible_to(user).live().only("pk", "code", "title", "status", "sort_key"),
                to_attr="visible_actions",
            ),
        )

    def for_page(self, user):
        """As for_overview, plus every measurement (with who recorded it) of every measure."""
        return self.for_overview(user).prefetch_related(
            Prefetch(
                "measures__measurements",
                queryset=Measurement.objects.select_related(
                    "recorded_by", "submission__decided_by", "submission__submitted_by", "submission__organisation"
                ),
            )
        )


class SuccessIndicator(Archivable):
    """One answer to the plan's "how will we know that the response is improving?"."""

    plan = models.ForeignKey("priorities.Plan", on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField(max_length=20)
    statement = models.TextField(help_text="As published, word for word.")

    # How an action's delete page names the indicators linked to it (priorities.services.plan_item_references).
    REFERENCE_LABEL = ("linked success indicator", "linked success indicators")
    actions = models.ManyToManyField("priorities.Action", related_name="indicators", blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    objects = SuccessIndicatorQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="unique_indicator_code_per_plan"),
        ]

    def __str__(self):
        return f"{self.code}: {self.statement[:80]}"

    def get_absolute_url(self):
        return reverse("indicators:indicator-detail", kwargs={"pk": self.pk})


class MeasureQuerySet(models.QuerySet):
    def with_latest(self):
        """Annotate each measure with its latest measurement (by period end): value, text, period, and a count."""
        latest = Measurement.objects.filter(measure=OuterRef("pk")).order_by("-period_end", "-period_start", "-pk")
        count = (
            Measurement.objects.filter(measure=OuterRef("pk"))
            .order_by()
            .values("measure")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        return self.annotate(
            latest_value=Subquery(latest.values("value")[:1]),
            latest_text_value=Subquery(latest.values("text_value")[:1]),
            latest_period_start=Subquery(latest.values("period_start")[:1]),
            latest_period_end=Subquery(latest.values("period_end")[:1]),
            measurement_count=models.functions.Coalesce(Subquery(count), 0),
        )


class Measure(models.Model):
    """Something counted to show progress on an indicator (IATI: an indicator with baseline and target)."""

    # Set on the rows of MeasureQuerySet.with_latest() only (the properties below check for them).
    latest_value: Decimal | None
    latest_text_value: str | None
    latest_period_start: datetime.date | None
    latest_period_end: datetime.date | None

    class Unit(models.TextChoices):
        COUNT = "count", "Count"
        PERCENTAGE = "percentage", "Percentage"
        CURRENCY = "currency", "Currency (£)"
        TEXT = "text", "Text"

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    class ReportingPeriod(models.IntegerChoices):
        """How long a period each value covers, in months: one chart never mixes lengths."""

        MONTHLY = 1, "A month"
        QUARTERLY = 3, "A quarter (3 months)"
        SIX_MONTHS = 6, "Six months"
        ANNUAL = 12, "A year"

    indicator = models.ForeignKey(SuccessIndicator, on_delete=models.CASCADE, related_name="measures")
    name = models.CharField(max_length=200)
    unit = models.CharField(max_length=20, choices=Unit.choices, default=Unit.COUNT)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.HIGHER)
    baseline_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    baseline_date = models.DateField(null=True, blank=True)
    target_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    reporting_organisation = models.ForeignKey(
        "tracker.Organisation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="measures",
        help_text="The partner organisation that reports this measure, if any.",
    )
    reporting_period = models.PositiveSmallIntegerField(
        choices=ReportingPeriod.choices,
        default=ReportingPeriod.ANNUAL,
        help_text="The length of the period each value covers.",
    )

    objects = MeasureQuerySet.as_manager()

    class Meta:
        ordering = ["indicator", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "name"], name="unique_measure_name_per_indicator"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_numeric(self):
        return self.unit != self.Unit.TEXT

    def period_problem(self, start, end):
        """Why a value for start..end does not fit this measure's reporting period (None when it does).

        A period of n months runs from a day to the day before the same day n months later
        (1 January to 31 December, 1 April to 30 June), so a six-month value on an annual measure
        is refused instead of being drawn as a drop.
        """
        if start is None or end is None or end < start:
            return None
        months = self.reporting_period
        example_end = add_months(start, months) - datetime.timedelta(days=1)
        if end == example_end:
            return None
        return (
            f"Each value of {self.name} covers {self.get_reporting_period_display().lower()}: "
            f"a period starting {start:%-d %B %Y} ends on {example_end:%-d %B %Y}, not {end:%-d %B %Y}."
        )

    def progress(self, value=None):
        """Progress (per cent) of `value`, or of the annotated latest value, from baseline towards target."""
        if value is None:
            value = getattr(self, "latest_value", None)
        if not self.is_numeric:
            return None
        return progress_percent(
            baseline=self.baseline_value, target=self.target_value, value=value, direction=self.direction
        )

    def format(self, value):
        return format_value(value, self.unit)

    @property
    def baseline_display(self):
        return format_value(self.baseline_value, self.unit)

    @property
    def target_display(self):
        return format_value(self.target_value, self.unit)

    @property
    def latest_display(self):
        """The annotated latest value, formatted for the unit ('' when nothing is recorded)."""
        if getattr(self, "latest_period_end", None) is None:
            return ""
        return format_value(self.latest_text_value if not self.is_numeric else self.latest_value, self.unit)

    @property
    def latest_period_label(self):
        if getattr(self, "latest_period_end", None) is None:
            return ""
        return period_label(self.latest_period_start, self.latest_period_end)


class Measurement(models.Model):
    """The value of a measure over one reporting period."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="measurements")
    period_start = models.DateField()
    period_end = models.DateField()
    value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    text_value = models.TextField(blank=True, help_text="For measures whose unit is text.")
    source = models.CharField(max_length=300, blank=True)
    note = models.TextField(max_length=5000, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="measurements"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    is_demo = models.BooleanField(default=False, help_text="Made by load_demo, not by a real user.")
    is_public = models.BooleanField(
        "public", default=False, help_text="Shown on the public pages and in the open data (period and value)."
    )

    class Meta:
        ordering = ["measure", "period_start"]
        get_latest_by = "period_end"
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "period_start", "period_end"],
                name="one_measurement_per_measure_and_period",
                violation_error_message="This measure already has a value for that period.",
            ),
            models.CheckConstraint(
                name="measurement_period_in_order",
                condition=Q(period_end__gte=F("period_start")),
                violation_error_message="The period cannot end before it starts.",
            ),
        ]

    def __str__(self):
        return f"{self.measure}: {self.display_value} ({self.period_start} to {self.period_end})"

    @property
    def display_value(self):
        return self.text_value if self.measure.unit == Measure.Unit.TEXT else self.value

    @property
    def formatted_value(self):
        return format_value(self.display_value, self.measure.unit)

    @property
    def period_label(self):
        return period_label(self.period_start, self.period_end)


INDICATOR_CHANGE_FIELD_LABELS = {
    "created": "Created",
    "code": "Code",
    "statement": "Statement",
    "name": "Name",
    "unit": "Unit",
    "direction": "Direction",
    "baseline_value": "Baseline value",
    "baseline_date": "Baseline date",
    "target_value": "Target value",
    "target_date": "Target date",
    "reporting_organisation": "Reporting organisation",
    "reporting_period": "Reporting period",
    "actions": "Linked actions",
    "value": "Value",
    "text_value": "Value",
    "period": "Period",
    "source": "Source",
    "note": "Note",
    "is_public": "Public",
    "archived": "Archived",
}


class IndicatorChange(ChangeRecord):
    """One change to an indicator, its measures, links or measurements: who, when, old and new. Services only."""

    indicator = models.ForeignKey(SuccessIndicator, on_delete=models.CASCADE, related_name="changes")
    measure = models.ForeignKey(Measure, on_delete=models.SET_NULL, null=True, blank=True, related_name="changes")
    subject = models.CharField(max_length=300, help_text="What changed, e.g. the measure and period.")
    changed_by = changed_by_field("indicator_changes")

    FIELD_LABELS = INDICATOR_CHANGE_FIELD_LABELS

    @classmethod
    def about(
        cls, indicator: SuccessIndicator, *, measure: Measure | None = None, subject: str
    ) -> "ChangeSubject[IndicatorChange]":
        """Changes of `indicator` (or of its `measure`), described by `subject` (e.g. the measure and period)."""
        return ChangeSubject(cls, {"indicator": indicator, "measure": measure, "subject": subject})

    def subject_label(self) -> str:
        return self.subject


class MeasurementImport(StoredUpload):
    """An uploaded measurements file, kept between its preview and its confirmation (tracker.imports).

    A confirmed file is kept as the record of what was imported; an unconfirmed one is deleted a day later.
    """

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="measurement_imports"
    )

    preview_url_name = "indicators:import-preview"


class MeasurementSubmissionQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Staff see every submitted measurement; a partner only their own organisation's."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role in (user.Role.SECRETARIAT, user.Role.COMMISSIONER):
            return self
        if user.role == user.Role.PARTNER and user.organisation_id:
            return self.filter(organisation_id=user.organisation_id)
        return self.none()

    def pending(self):
        return self.filter(state=MeasurementSubmission.State.SUBMITTED)

    def awaiting_answer(self):
        """Returned values their organisation has not answered yet (no later value for the measure and period)."""
        later = MeasurementSubmission.objects.filter(
            measure=OuterRef("measure"),
            organisation=OuterRef("organisation"),
            period_start=OuterRef("period_start"),
            period_end=OuterRef("period_end"),
            submitted_at__gt=OuterRef("submitted_at"),
        )
        return self.filter(state=MeasurementSubmission.State.RETURNED).exclude(Exists(later))


class MeasurementSubmission(models.Model):
    """A value a partner reports for a measure its organisation reports: official once the secretariat accepts it."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        RETURNED = "returned", "Returned"

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="submissions")
    organisation = models.ForeignKey(
        "tracker.Organisation", on_delete=models.PROTECT, related_name="measurement_submissions"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="measurement_submissions"
    )
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    period_start = models.DateField()
    period_end = models.DateField()
    value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    text_value = models.TextField(blank=True)
    source = models.CharField(max_length=300, blank=True)
    note = models.TextField(max_length=5000, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.SUBMITTED, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(max_length=5000, blank=True)
    measurement = models.OneToOneField(
        Measurement, on_delete=models.SET_NULL, null=True, blank=True, related_name="submission"
    )

    objects = MeasurementSubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="measurement_submission_period_in_order",
                condition=Q(period_end__gte=F("period_start")),
            ),
            models.CheckConstraint(
                name="measurement_submission_decision_is_complete",
                condition=Q(state="submitted", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(state="submitted") & Q(decided_by__isnull=False, decided_at__isnull=False)),
            ),
            models.CheckConstraint(
                name="returned_measurement_submission_has_reason",
                condition=~Q(state="returned") | ~Q(return_reason=""),
            ),
        ]

    def __str__(self):
        return f"{self.measure} from {self.organisation}, {self.period_start} to {self.period_end}"

    @property
    def display_value(self):
        return self.text_value if self.measure.unit == Measure.Unit.TEXT else self.value
