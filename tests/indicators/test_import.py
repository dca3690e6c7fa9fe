import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from indicators import services
from indicators.importing import parse_measurements_file
from indicators.models import IndicatorChange, Measure, Measurement, MeasurementImport
from tests.factories import MeasureFactory, MeasurementFactory, SuccessIndicatorFactory

pytestmark = pytest.mark.django_db
HEADINGS = ["measure", "period start", "period end", "value", "source", "note"]


def csv_bytes(rows, headings=HEADINGS):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headings)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows, headings=HEADINGS):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def measures(db):
    indicator = SuccessIndicatorFactory(code="SI3")
    return {
        "count": MeasureFactory(indicator=indicator, name="Joint teams"),
        "percentage": MeasureFactory(indicator=indicator, name="Share protected", unit=Measure.Unit.PERCENTAGE),
        "text": MeasureFactory(indicator=indicator, name="Guidance", unit=Measure.Unit.TEXT, reporting_period=6),
    }


def yearly_rows(n, name="Joint teams"):
    return [[name, f"{1000 + i}-01-01", f"{1000 + i}-12-31", str(i), "NCA", ""] for i in range(n)]


def errors_of(preview):
    return {(row.number, column): message for row in preview.rows for column, message in row.errors}


def test_a_good_csv_previews_without_errors(measures):
    content = csv_bytes(
        [
            ["Joint teams", "2024-01-01", "2024-12-31", "6", "NCA", "Two delayed"],
            ["share protected", "01/01/2024", "31/12/2024", "45.5%", "", ""],
            ["Guidance", "2024-01-01", "2024-06-30", "Published in March", "", ""],
            ["", "", "", "", "", ""],  # blank rows are skipped
            ["Joint teams", "2025-01-01", "2025-12-31", "1,200", "", ""],
        ]
    )
    preview = parse_measurements_file(filename="values.csv", content=content)
    assert preview.is_valid, errors_of(preview)
    assert [row.number for row in preview.rows] == [2, 3, 4, 6]
    assert preview.rows[1].measure == measures["percentage"] and preview.rows[1].value == Decimal("45.5")
    assert preview.rows[2].text_value == "Published in March"
    assert preview.rows[3].value == Decimal("1200")


def test_every_kind_of_bad_row_is_named(measures):
    MeasurementFactory(
        measure=measures["count"], period_start=datetime.date(2020, 1, 1), period_end=datetime.date(2020, 12, 31)
    )
    content = csv_bytes(
        [
            ["Unknown measure", "2024-01-01", "2024-12-31", "1", "", ""],  # row 2
            ["Joint teams", "2024-01-01", "2024-12-31", "lots", "", ""],  # row 3
            ["Share protected", "2024-01-01", "2024-12-31", "120", "", ""],  # row 4
            ["Joint teams", "2024-13-01", "2024-12-31", "1", "", ""],  # row 5
            ["Joint teams", "2024-12-31", "2024-01-01", "1", "", ""],  # row 6
            ["Joint teams", "2020-01-01", "2020-12-31", "1", "", ""],  # row 7: already recorded
            ["Joint teams", "2022-01-01", "2022-12-31", "1", "", ""],  # row 8
            ["Joint teams", "2022-01-01", "2022-12-31", "2", "", ""],  # row 9: same as row 8
            ["Joint teams", "2023-01-01", "2023-12-31", "1.234", "", ""],  # row 10
        ]
    )
    preview = parse_measurements_file(filename="values.csv", content=content)
    errors = errors_of(preview)
    assert not preview.is_valid
    assert "No measure is called “Unknown measure”" in errors[(2, "measure")]
    assert errors[(3, "value")] == "“lots” is not a number."
    assert "percentage outside 0–100" in errors[(4, "value")]
    assert "is not a date" in errors[(5, "period start")]
    assert errors[(6, "period end")] == "The period ends before it starts."
    assert "already has a value for 2020" in errors[(7, "period start")]
    assert (8, "period start") not in errors
    assert errors[(9, "period start")] == "Row 8 has the same measure and period."
    assert "more than 2 decimal places" in errors[(10, "value")]


def test_missing_columns_and_wrong_files_are_refused(measures):
    preview = parse_measurements_file(filename="x.csv", content=csv_bytes([], headings=["measure", "value"]))
    assert "missing: period start, period end" in preview.file_errors[0]
    assert parse_measurements_file(filename="x.pdf", content=b"%PDF").file_errors
    assert parse_measurements_file(filename="x.xlsx", content=b"not a zip").file_errors
    assert parse_measurements_file(filename="x.csv", content=b"").file_errors
    assert parse_measurements_file(filename="x.csv", content=csv_bytes([])).file_errors


def test_an_excel_file_with_real_dates_and_numbers(measures):
    content = xlsx_bytes([["Joint teams", datetime.datetime(2024, 1, 1), datetime.date(2024, 12, 31), 7, "NCA", None]])
    preview = parse_measurements_file(filename="values.xlsx", content=content)
    assert preview.is_valid, errors_of(preview)
    row = preview.rows[0]
    assert (row.period_start, row.period_end, row.value) == (datetime.date(2024, 1, 1), datetime.date(2024, 12, 31), 7)


def test_same_measure_name_on_two_indicators_needs_the_indicator_column(measures):
    MeasureFactory(indicator=SuccessIndicatorFactory(code="SI4"), name="Joint teams")
    ambiguous = parse_measurements_file(filename="v.csv", content=csv_bytes(yearly_rows(1)))
    assert "add an indicator column" in errors_of(ambiguous)[(2, "measure")]
    content = csv_bytes([["SI3", *yearly_rows(1)[0]]], headings=["indicator", *HEADINGS])
    preview = parse_measurements_file(filename="v.csv", content=content)
    assert preview.is_valid and preview.rows[0].measure == measures["count"]


def test_one_bad_row_among_500_writes_nothing_and_names_the_row_and_column(client, secretariat, measures):
    rows = yearly_rows(500)
    rows[249][3] = "twelve"  # spreadsheet row 251: the headings are row 1
    client.force_login(secretariat)
    response = client.post(
        reverse("indicators:import-upload"), {"file": SimpleUploadedFile("values.csv", csv_bytes(rows))}
    )
    assert response.status_code == 302
    upload = MeasurementImport.objects.get()
    preview = client.get(response["Location"])
    html = preview.content.decode()
    assert "Row 251, value: “twelve” is not a number." in html
    assert "Confirm and import" not in html
    confirm = client.post(reverse("indicators:import-confirm", kwargs={"token": upload.token}))
    assert confirm.status_code == 400
    assert "Row 251, value" in confirm.content.decode()
    assert not Measurement.objects.exists() and not IndicatorChange.objects.exists()
    upload.refresh_from_db()
    assert upload.confirmed_at is None


def test_a_good_file_is_written_only_when_confirmed_and_only_once(client, secretariat, measures):
    client.force_login(secretariat)
    response = client.post(
        reverse("indicators:import-upload"),
        {"file": SimpleUploadedFile("values.xlsx", xlsx_bytes(yearly_rows(30)))},
    )
    preview = client.get(response["Location"])
    assert "Confirm and import 30 measurements" in preview.content.decode()
    assert not Measurement.objects.exists()
    upload = MeasurementImport.objects.get()
    url = reverse("indicators:import-confirm", kwargs={"token": upload.token})
    assert client.post(url).status_code == 302
    assert Measurement.objects.filter(measure=measures["count"], recorded_by=secretariat).count() == 30
    assert IndicatorChange.objects.filter(via="import").count() == 30
    done = client.get(response["Location"]).content.decode()
    assert "30 measurements imported from values.xlsx" in done
    client.post(url)  # a second click writes nothing more
    assert Measurement.objects.count() == 30


def test_confirm_checks_the_file_again(client, secretariat, measures):
    """A value recorded between preview and confirmation makes the whole import refuse."""
    client.force_login(secretariat)
    client.post(reverse("indicators:import-upload"), {"file": SimpleUploadedFile("v.csv", csv_bytes(yearly_rows(3)))})
    upload = MeasurementImport.objects.get()
    services.measurement_record(
        measure=measures["count"],
        by=secretariat,
        period_start=datetime.date(1001, 1, 1),
        period_end=datetime.date(1001, 12, 31),
        value=5,
    )
    response = client.post(reverse("indicators:import-confirm", kwargs={"token": upload.token}))
    assert response.status_code == 400
    assert "Row 3, period start" in response.content.decode()
    assert Measurement.objects.count() == 1


def test_the_database_constraint_undoes_the_whole_import(secretariat, measures, monkeypatch):
    """Even if the check missed a clash, the database refuses it and nothing of the file stays."""
    upload = services.measurement_import_store(filename="v.csv", content=csv_bytes(yearly_rows(5)), by=secretariat)
    MeasurementFactory(
        measure=measures["count"], period_start=datetime.date(1004, 1, 1), period_end=datetime.date(1004, 12, 31)
    )
    from indicators import importing

    real = importing.parse_measurements_file

    def blind(**kwargs):
        preview = real(**kwargs)
        for row in preview.rows:
            row.errors.clear()  # pretend the clash was not seen
        return preview

    monkeypatch.setattr(importing, "parse_measurements_file", blind)
    with pytest.raises(services.ImportNotValid):
        services.measurement_import_confirm(upload=upload, by=secretariat)
    assert Measurement.objects.count() == 1
    assert not IndicatorChange.objects.exists()


def test_another_users_upload_is_404(client, secretariat, measures):
    from tests.factories import SecretariatFactory

    upload = services.measurement_import_store(filename="v.csv", content=csv_bytes(yearly_rows(1)), by=secretariat)
    client.force_login(SecretariatFactory())
    assert client.get(reverse("indicators:import-preview", kwargs={"token": upload.token})).status_code == 404
    assert client.post(reverse("indicators:import-confirm", kwargs={"token": upload.token})).status_code == 404
    assert not Measurement.objects.exists()


@pytest.mark.parametrize("who", ["commissioner", "partner_a"])
def test_only_the_secretariat_may_import(client, secretariat, measures, who, request):
    upload = services.measurement_import_store(filename="v.csv", content=csv_bytes(yearly_rows(1)), by=secretariat)
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("indicators:import-upload")).status_code == 403
    assert client.get(reverse("indicators:import-preview", kwargs={"token": upload.token})).status_code == 403
    assert client.post(reverse("indicators:import-confirm", kwargs={"token": upload.token})).status_code == 403
    assert not Measurement.objects.exists()


def test_import_pages_send_anonymous_users_to_sign_in(client, secretariat, measures):
    upload = services.measurement_import_store(filename="v.csv", content=csv_bytes(yearly_rows(1)), by=secretariat)
    for response in (
        client.get(reverse("indicators:import-preview", kwargs={"token": upload.token})),
        client.post(reverse("indicators:import-confirm", kwargs={"token": upload.token})),
    ):
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_upload_refuses_other_file_types_with_an_error_summary(client, secretariat):
    client.force_login(secretariat)
    response = client.post(reverse("indicators:import-upload"), {"file": SimpleUploadedFile("v.pdf", b"%PDF")})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is a problem" in html and "CSV (.csv) or Excel (.xlsx)" in html
    assert not MeasurementImport.objects.exists()


def test_preview_can_show_only_the_rows_with_problems(client, secretariat, measures):
    rows = yearly_rows(4)
    rows[2][3] = "x"
    upload = services.measurement_import_store(filename="v.csv", content=csv_bytes(rows), by=secretariat)
    client.force_login(secretariat)
    response = client.get(reverse("indicators:import-preview", kwargs={"token": upload.token}) + "?show=errors")
    assert [row.number for row in response.context["rows"]] == [4]


def test_a_very_long_number_is_too_large_not_a_crash(measures):
    content = csv_bytes([["Joint teams", "2024-01-01", "2024-12-31", "123456789012345678901234567890.123", "", ""]])
    preview = parse_measurements_file(filename="v.csv", content=content)
    assert "is too large" in errors_of(preview)[(2, "value")]


def test_files_over_the_row_limit_are_refused(measures, monkeypatch):
    from indicators import importing

    monkeypatch.setattr(importing, "MAX_ROWS", 10)
    for filename, content in (("v.csv", csv_bytes(yearly_rows(11))), ("v.xlsx", xlsx_bytes(yearly_rows(30)))):
        preview = parse_measurements_file(filename=filename, content=content)
        assert preview.file_errors == ["The file has more than 10 rows: import at most 10 at a time."]


def test_a_row_for_a_period_of_another_length_is_refused(measures):
    content = csv_bytes(
        [
            ["Joint teams", "2024-01-01", "2024-12-31", "6", "", ""],
            ["Joint teams", "2025-01-01", "2025-06-30", "3", "", ""],
        ]
    )
    preview = parse_measurements_file(filename="values.csv", content=content)
    assert errors_of(preview) == {
        (3, "period end"): "Each value of Joint teams covers a year: a period starting 1 January 2025 "
        "ends on 31 December 2025, not 30 June 2025."
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_import_template_has_the_columns_and_an_example_row_that_imports(client, secretariat, measures, fmt):
    client.force_login(secretariat)
    page = client.get(reverse("indicators:import-upload")).content.decode()
    url = reverse("indicators:import-template", args=[fmt])
    assert f'href="{url}"' in page
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="measurements-template.{fmt}"'
    preview = parse_measurements_file(filename=f"template.{fmt}", content=response.getvalue())
    assert preview.is_valid, errors_of(preview)
    assert not preview.ignored_columns
    (row,) = preview.rows
    assert row.measure == measures["count"]
    assert (row.period_end - row.period_start).days in (364, 365)
