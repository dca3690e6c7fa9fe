"""Measurements as CSV or Excel rows (tracker.spreadsheets writes them safely)."""

from django.utils import timezone

from tracker.spreadsheets import csv_text, xlsx_bytes

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


def measurement_rows(measurements):
    """One list per measurement, in HEADINGS order, with typed cells (Decimal, date, datetime, str)."""
    for m in measurements:
        measure = m.measure
        recorded_at = timezone.localtime(m.recorded_at).replace(tzinfo=None) if m.recorded_at else None
        yield [
            measure.indicator.code,
            measure.name,
            measure.get_unit_display(),
            m.period_start,
            m.period_end,
            m.text_value if measure.unit == "text" else m.value,
            m.source,
            m.note,
            (m.recorded_by.get_full_name() or m.recorded_by.get_username()) if m.recorded_by else "",
            recorded_at,
        ]


def as_csv(measurements):
    """The measurements as CSV text."""
    return csv_text([HEADINGS, *measurement_rows(measurements)])


def as_xlsx(measurements):
    """The measurements as an Excel workbook's bytes."""
    return xlsx_bytes([("Measurements", [HEADINGS, *measurement_rows(measurements)])])
