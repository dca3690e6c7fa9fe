"""The importer guard: hostile workbooks and CSVs get one clear refusal, nothing is written, memory stays bounded."""

import csv
import tracemalloc

import pytest
from django.urls import reverse

from indicators import services
from indicators.importing import parse_measurements_file
from indicators.models import Measurement
from tracker import sheet_reader

from .hostile_files import HOSTILE_CSVS, HOSTILE_WORKBOOKS, entity_expansion
from .test_import import measures  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
# A real 50,000-row workbook reads in well under this; the attacks above took 1.4 to 3.9 GB.
PEAK_LIMIT_KB = 100 * 1024


@pytest.mark.parametrize("name", HOSTILE_WORKBOOKS)
def test_a_hostile_workbook_is_refused_by_the_child_with_bounded_memory(name):
    make, message = HOSTILE_WORKBOOKS[name]
    answer = sheet_reader.run_child(make())
    assert message in answer["problem"]
    assert "rows" not in answer
    assert 0 < answer["peak_kb"] < PEAK_LIMIT_KB


@pytest.mark.parametrize("name", HOSTILE_CSVS)
def test_a_hostile_csv_is_refused_with_bounded_memory(name):
    content, message = HOSTILE_CSVS[name]
    tracemalloc.start()
    try:
        preview = parse_measurements_file(filename="hostile.csv", content=content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(preview.file_errors) == 1
    assert message in preview.file_errors[0]
    assert preview.rows == []
    assert peak < 60 * 1024 * 1024  # 10 MB of newlines peaked at 950 MB before


def test_a_child_that_passes_its_memory_limit_is_a_refusal_not_a_dead_worker(monkeypatch):
    from .test_import import xlsx_bytes

    monkeypatch.setattr(sheet_reader, "CHILD_MEMORY_BYTES", 16 * 1024 * 1024)  # too little to load openpyxl
    answer = sheet_reader.run_child(xlsx_bytes([["Joint teams", "2024-01-01", "2024-12-31", 1]]))
    assert answer["problem"] == sheet_reader.TOO_BIG


def test_the_stored_hostile_upload_is_refused_on_every_visit_and_nothing_is_written(client, secretariat):
    upload = services.measurement_import_store(filename="bomb.xlsx", content=entity_expansion(), by=secretariat)
    client.force_login(secretariat)
    url = reverse("indicators:import-preview", kwargs={"token": upload.token})
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200
        assert "declares XML entities" in response.content.decode()
    response = client.post(reverse("indicators:import-confirm", kwargs={"token": upload.token}))
    assert response.status_code == 400
    assert "declares XML entities" in response.content.decode()
    assert not Measurement.objects.exists()


def test_defusedxml_is_what_openpyxl_parses_with():
    import openpyxl

    assert openpyxl.DEFUSEDXML


@pytest.mark.usefixtures("measures")
def test_the_preview_shows_100_rows_and_the_error_report_lists_every_problem(client, secretariat):
    from .test_import import csv_bytes

    rows = [["No such measure", "2024-01-01", "2024-12-31", "1", "", ""]] * 250
    upload = services.measurement_import_store(filename='bad "name"\r\n.csv', content=csv_bytes(rows), by=secretariat)
    client.force_login(secretariat)
    page = client.get(reverse("indicators:import-preview", kwargs={"token": upload.token}))
    assert len(page.context["shown_rows"]) == 100
    assert page.content.decode().count('class="govuk-table__row app-row--error"') == 100
    assert "150 more are not shown here" in page.content.decode()
    report = client.get(reverse("indicators:import-errors", kwargs={"token": upload.token}))
    assert report["Content-Disposition"] == 'attachment; filename="import-problems-bad-name-.csv"'
    lines = report.getvalue().decode("utf-8-sig").splitlines()
    assert len(lines) == 251
    assert next(csv.reader([lines[1]])) == [
        "2",
        "measure",
        "No measure is called “No such measure”.",
        "No such measure",
        "2024",
        "1",
    ]
