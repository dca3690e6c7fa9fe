"""The progress report as of a past date shows the indicator values known on that date, as then corrected."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from indicators.history import measurements_as_of
from indicators.models import IndicatorChange, Measure, Measurement
from indicators.progress import format_value, parse_period_label, parse_value, period_label
from indicators.services import measurement_correct, measurement_record
from tests.factories import MeasureFactory

d = datetime.date
REPORT = reverse("overview:progress-report")
REPORT_XLSX = reverse("overview:progress-report-xlsx")


def at(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def record(measure, by, day, start, end, value):
    measurement = measurement_record(measure=measure, by=by, period_start=start, period_end=end, value=value)
    Measurement.objects.filter(pk=measurement.pk).update(recorded_at=at(day))
    IndicatorChange.objects.filter(changed_at=measurement.recorded_at).update(changed_at=at(day))
    return Measurement.objects.get(pk=measurement.pk)


def correct(measurement, by, day, **changes):
    records = measurement_correct(measurement=measurement, by=by, **changes)
    IndicatorChange.objects.filter(pk__in=[r.pk for r in records]).update(changed_at=at(day))


@pytest.fixture
def history(db, secretariat):
    """Victims identified, counted by quarter: Q4 2023 recorded in Feb 2024; Q4 2024 recorded on 10 Jan 2025
    as 100, corrected to 120 on 1 Mar 2025; a value recorded on 20 Jan 2025 for "Q4 2025" by mistake,
    corrected to Q3 2024 on 1 Mar."""
    measure = MeasureFactory(
        name="Victims identified",
        unit=Measure.Unit.COUNT,
        baseline_value=10,
        reporting_period=Measure.ReportingPeriod.QUARTERLY,
    )
    record(measure, secretariat, d(2024, 2, 1), d(2023, 10, 1), d(2023, 12, 31), 1500)
    q4_2024 = record(measure, secretariat, d(2025, 1, 10), d(2024, 10, 1), d(2024, 12, 31), 100)
    correct(q4_2024, secretariat, d(2025, 3, 1), value=Decimal("120"))
    q4 = record(measure, secretariat, d(2025, 1, 20), d(2025, 10, 1), d(2025, 12, 31), 30)
    correct(q4, secretariat, d(2025, 3, 1), period_start=d(2024, 7, 1), period_end=d(2024, 9, 30), value=35)
    return measure


def values(measure, as_of):
    return {m.period_label: m.value for m in measurements_as_of([measure.pk], as_of).get(measure.pk, [])}


def test_only_values_recorded_by_the_date_with_the_corrections_made_by_then(history):
    assert values(history, d(2024, 1, 31)) == {}
    assert values(history, d(2024, 2, 1)) == {"Q4 2023": 1500}
    assert values(history, d(2025, 1, 15)) == {"Q4 2023": 1500, "Q4 2024": 100}
    assert values(history, d(2025, 2, 1)) == {"Q4 2023": 1500, "Q4 2024": 100, "Q4 2025": 30}
    assert values(history, d(2025, 3, 1)) == {"Q4 2023": 1500, "Q4 2024": 120, "Q3 2024": 35}
    assert values(history, timezone.localdate()) == values(history, d(2025, 3, 1))


def report_cell(client, measure, as_of):
    html = client.get(REPORT, {"as_of": as_of.isoformat()}).content.decode()
    row = html.split('id="report-indicators"')[1].split(f"<strong>{measure.name}</strong>")[1].split("</tr>")[0]
    return row.split("govuk-table__cell--numeric")[-1]


def test_the_report_shows_what_was_known_on_the_date(client, commissioner, history):
    client.force_login(commissioner)
    assert "1,500" in report_cell(client, history, d(2025, 1, 5))  # 2024 was over but not yet recorded
    cell = report_cell(client, history, d(2025, 2, 1))
    assert "100" in cell and "120" not in cell and "31 Dec 2024" in cell
    cell = report_cell(client, history, d(2025, 3, 2))
    assert "120" in cell and "31 Dec 2024" in cell
    workbook = load_workbook(
        __import__("io").BytesIO(client.get(REPORT_XLSX, {"as_of": "2025-02-01"}).getvalue()), read_only=True
    )
    rows = [row for row in workbook["Indicators"].iter_rows(values_only=True) if row[2] == history.name]
    assert [(float(row[6]), row[7]) for row in rows] == [(100.0, datetime.datetime(2024, 12, 31))]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (d(2024, 1, 1), d(2024, 12, 31)),
        (d(2024, 4, 1), d(2024, 6, 30)),
        (d(2024, 3, 1), d(2024, 3, 31)),
        (d(2024, 4, 6), d(2025, 4, 5)),
        (d(2024, 1, 1), d(2024, 6, 30)),
    ],
)
def test_period_labels_read_back(start, end):
    assert parse_period_label(period_label(start, end)) == (start, end)


@pytest.mark.parametrize(("value", "unit"), [("1200", "count"), ("45.5", "percentage"), ("-1200.5", "currency")])
def test_values_read_back(value, unit):
    assert parse_value(format_value(Decimal(value), unit)) == Decimal(value)
    assert parse_value("") is None
