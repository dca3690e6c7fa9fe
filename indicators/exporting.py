"""Measurements as CSV or Excel rows, straight from `values()` (tracker.spreadsheets writes them safely)."""

from tracker.spreadsheets import person_name

from .models import Measure

HEADINGS = [
    "indicator",
    "measure",
    "unit",
    "period start",
    "period end",
    "value",
    "source",
    "note",
    "recorded by",
    "recorded at",
]
UNIT_LABELS = dict(Measure.Unit.choices)


def measurement_rows(measurements):
    """The heading and one list per measurement of a queryset, with typed cells (Decimal, date, datetime, str)."""
    yield HEADINGS
    rows = measurements.values(
        "measure__indicator__code",
        "measure__name",
        "measure__unit",
        "period_start",
        "period_end",
        "value",
        "text_value",
        "source",
        "note",
        "recorded_by__first_name",
        "recorded_by__last_name",
        "recorded_by__username",
        "recorded_at",
    )
    for m in rows.iterator(chunk_size=2000):
        unit = m["measure__unit"]
        yield [
            m["measure__indicator__code"],
            m["measure__name"],
            UNIT_LABELS.get(unit, unit),
            m["period_start"],
            m["period_end"],
            m["text_value"] if unit == Measure.Unit.TEXT else m["value"],
            m["source"],
            m["note"],
            person_name(m["recorded_by__first_name"], m["recorded_by__last_name"], m["recorded_by__username"]),
            m["recorded_at"],  # the writers show it in local time
        ]
