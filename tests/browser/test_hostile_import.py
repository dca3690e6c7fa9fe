"""The secretariat uploads a hostile workbook and a file full of errors, as a person would (desktop and phone)."""

import re

import pytest
from playwright.sync_api import expect

from tests.indicators.hostile_files import entity_expansion


@pytest.mark.parametrize("width", [1280, 390])
def test_a_hostile_workbook_and_a_file_of_errors_get_clear_answers(demo, sign_in, live_server, tmp_path, width):
    page = sign_in("secretariat")
    page.set_viewport_size({"width": width, "height": 900})
    bomb = tmp_path / "laughs.xlsx"
    bomb.write_bytes(entity_expansion())
    page.goto(f"{live_server.url}/indicators/import/")
    page.get_by_label("Measurements file").set_input_files(str(bomb))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name=re.compile("There is a problem"))).to_be_visible()
    expect(page.get_by_text(re.compile("declares XML entities"))).to_be_visible()
    # The stored upload answers the same on another visit (it once crashed the worker every time).
    page.reload()
    expect(page.get_by_text(re.compile("declares XML entities"))).to_be_visible()

    errors = tmp_path / "errors.csv"
    errors.write_text("measure,period start,period end,value\n" + "No such measure,2024-01-01,2024-12-31,1\n" * 250)
    page.goto(f"{live_server.url}/indicators/import/")
    page.get_by_label("Measurements file").set_input_files(str(errors))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_text("150 more are not shown here")).to_be_visible()
    assert page.locator("tr.app-row--error").count() == 100
    with page.expect_download() as download:
        page.get_by_role("link", name="Download every problem as a CSV error report").click()
    assert download.value.suggested_filename == "import-problems-errors.csv"
    page.screenshot(path=str(tmp_path.parent / f"hostile-import-{width}.png"))
