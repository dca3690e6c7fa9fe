from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone


class SuccessIndicator(models.Model):
    """One answer to the plan's "how will we know that the response is improving?"."""

    plan = models.ForeignKey("priorities.Plan", on_delete=models.CASCADE, related_name="indicators")
    code = models.CharField(max_length=20)
    statement = models.TextField(help_text="As published, word for word.")
    actions = models.ManyToManyField("priorities.Action", related_name="indicators", blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["plan", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="unique_indicator_code_per_plan"),
        ]

    def __str__(self):
        return f"{self.code}: {self.statement[:80]}"

    def get_absolute_url(self):
        return reverse("indicators:indicator-detail", kwargs={"pk": self.pk})


class Measure(models.Model):
    """Something counted to show progress on an indicator (IATI: an indicator with baseline and target)."""

    class Unit(models.TextChoices):
        COUNT = "count", "Count"
        PERCENTAGE = "percentage", "Percentage"
        CURRENCY = "currency", "Currency (£)"
        TEXT = "text", "Text"

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

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

    class Meta:
        ordering = ["indicator", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "name"], name="unique_measure_name_per_indicator"),
        ]

    def __str__(self):
        return self.name


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
