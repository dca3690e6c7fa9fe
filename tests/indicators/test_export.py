import csv
import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import MeasureFactory, MeasurementFactory, PlanFactory, SuccessIndicatorFactory
from tracker.spreadsheets import neutralise

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_indicators(secretariat):
    # One plan: the export orders by plan first (by the plans' own ordering, their titles), then by code.
    plan = PlanFactory()
    first = MeasureFactory(indicator=SuccessIndicatorFactory(code="SI1", plan=plan), name='=HYPERLINK("http://evil")')
    second = MeasureFactory(indicator=SuccessIndicatorFactory(code="SI2", plan=plan), name="Prosecutions")
    MeasurementFactory(
        measure=first,
        period_start=datetime.date(2024, 1, 1),
        value=-5,
        source="+44 20",
        note="@SUM(A1)",
        recorded_by=secretariat,
    )
    MeasurementFactory(measure=second, period_start=datetime.date(2024, 1, 1), value=7, source="-risky", note="plain")
    return first.indicator, second.indicator


def test_neutralise():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("+1") == "'+1"
    assert neutralise("-1") == "'-1"
    assert neutralise("@A1") == "'@A1"
    assert neutralise("\t=1") == "'\t=1"
    assert neutralise("plain") == "plain"
    assert neutralise(-5) == -5


def test_csv_export_of_all_measurements_neutralises_formulas(client, commissioner, two_indicators):
    client.force_login(commissioner)
    response = client.get(reverse("indicators:export", kwargs={"fmt": "csv"}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "measurements-all-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))
    assert rows[0][:6] == ["indicator", "measure", "unit", "period start", "period end", "value"]
    first = rows[1]
    assert first[0] == "SI1"
    assert first[1] == '\'=HYPERLINK("http://evil")'
    assert first[5] == "-5.00"  # a number is a number, never touched
    assert first[6] == "'+44 20" and first[7] == "'@SUM(A1)"
    assert first[3] == "2024-01-01"
    assert rows[2][6] == "'-risky" and rows[2][7] == "plain"
    assert len(rows) == 3


def test_excel_export_of_one_indicator_writes_text_not_formulas(client, partner_a, two_indicators):
    first, _ = two_indicators
    client.force_login(partner_a)
    response = client.get(reverse("indicators:indicator-export", kwargs={"pk": first.pk, "fmt": "xlsx"}))
    assert response.status_code == 200
    assert f"measurements-{first.code}-" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2  # headings and SI1's one measurement
    assert rows[1][1] == '\'=HYPERLINK("http://evil")'
    assert sheet.cell(row=2, column=2).data_type == "s"
    assert rows[1][5] == -5
    assert rows[1][6] == "'+44 20" and rows[1][7] == "'@SUM(A1)"
    assert rows[1][3] == datetime.datetime(2024, 1, 1)


def test_export_of_an_unknown_format_or_indicator_is_404(client, secretariat, two_indicators):
    client.force_login(secretariat)
    assert client.get(reverse("indicators:export", kwargs={"fmt": "pdf"})).status_code == 404
    assert client.get(reverse("indicators:indicator-export", kwargs={"pk": 999, "fmt": "csv"})).status_code == 404


def test_an_exported_file_imports_back_unchanged(client, secretariat, two_indicators):
    """The apostrophe added on export is dropped on import, so a corrected export can be imported again."""
    from indicators.importing import parse_measurements_file

    client.force_login(secretariat)
    content = client.get(reverse("indicators:export", kwargs={"fmt": "xlsx"})).getvalue()
    preview = parse_measurements_file(filename="back.xlsx", content=content)
    assert preview.rows[0].measure.name == '=HYPERLINK("http://evil")'
    assert preview.rows[0].source == "+44 20"
    # Both periods are recorded already, so the import would write nothing.
    assert all("already has a value" in row.errors[0][1] for row in preview.rows)


def test_excel_export_is_a_usable_spreadsheet(client, secretariat, two_indicators):
    client.force_login(secretariat)
    response = client.get(reverse("indicators:export", kwargs={"fmt": "xlsx"}))
    assert "no-store" in response["Cache-Control"]
    sheet = load_workbook(io.BytesIO(response.getvalue())).active
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:J3"
    period_start, recorded_at = sheet["D2"], sheet["J2"]
    assert period_start.is_date and period_start.number_format == "yyyy-mm-dd"
    assert recorded_at.is_date and isinstance(recorded_at.value, datetime.datetime)
    assert sheet["F3"].value == 7 and sheet["F3"].data_type == "n"
    assert sheet.column_dimensions["B"].width == len('=HYPERLINK("http://evil")') + 3  # with its apostrophe


@pytest.mark.parametrize("count", [2, 40])
def test_exports_stream_with_a_fixed_number_of_queries(client, secretariat, django_assert_num_queries, count):
    measure = MeasureFactory()
    for year in range(count):
        MeasurementFactory(measure=measure, period_start=datetime.date(1900 + year, 1, 1), recorded_by=secretariat)
    client.force_login(secretariat)
    for fmt in ("csv", "xlsx"):
        # session, user, the rows, and the access log's row once the stream ends
        with django_assert_num_queries(4):
            response = client.get(reverse("indicators:export", kwargs={"fmt": fmt}))
            assert response.streaming and response.getvalue()
        assert "no-store" in response["Cache-Control"]
