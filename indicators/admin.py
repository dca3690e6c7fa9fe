from django.contrib import admin

from tracker.admin import ReadOnlyAdmin

from .models import IndicatorChange, Measure, Measurement, SuccessIndicator


class MeasureInline(admin.TabularInline):
    model = Measure
    extra = 0


@admin.register(SuccessIndicator)
class SuccessIndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "statement", "plan"]
    list_filter = ["plan"]
    search_fields = ["code", "statement"]
    filter_horizontal = ["actions"]
    inlines = [MeasureInline]


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "indicator",
        "unit",
        "direction",
        "baseline_value",
        "target_value",
        "reporting_organisation",
    ]
    list_filter = ["unit", "direction", "indicator", "reporting_organisation"]
    search_fields = ["name", "indicator__statement"]
    list_select_related = ["indicator", "reporting_organisation"]


@admin.register(Measurement)
class MeasurementAdmin(admin.ModelAdmin):
    list_display = [
        "measure",
        "period_start",
        "period_end",
        "value",
        "text_value",
        "source",
        "recorded_by",
        "recorded_at",
    ]
    list_filter = ["measure__indicator", "measure", "is_demo", "is_public"]
    search_fields = ["measure__name", "source", "note"]
    date_hierarchy = "period_start"
    list_select_related = ["measure", "recorded_by"]
    # Public or not is chosen on the measurement's form, where the choice is recorded in the history.
    readonly_fields = ["recorded_at", "is_public"]


@admin.register(IndicatorChange)
class IndicatorChangeAdmin(ReadOnlyAdmin):
    """Read-only: the change log is written by indicators.services, never edited."""

    list_display = ["changed_at", "indicator", "subject", "field", "old_value", "new_value", "changed_by", "via"]
    list_filter = ["indicator", "field", "via"]
    search_fields = ["subject", "old_value", "new_value"]
    list_select_related = ["indicator", "changed_by"]
    date_hierarchy = "changed_at"
