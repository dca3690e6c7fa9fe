"""The secretariat imports a 200-row plan from a spreadsheet, and a file with one bad row writes nothing."""

import csv
import re

from playwright.sync_api import expect

from plan_imports.reading import COLUMNS
from priorities.models import Action, ActionChange, Plan
from tests.indicators.hostile_files import entity_expansion
from tracker.models import Organisation

ROWS = 200


def plan_file(path, bad_row=None):
    """2 priorities, 10 objectives and ROWS actions; `bad_row` (numbered as in a spreadsheet) ends too early."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index in range(ROWS):
            priority = index % 2 + 1
            objective = f"{priority}.{index % 5 + 1}"
            writer.writerow(
                [
                    priority,
                    f"Imported priority {priority}",
                    objective,
                    f"Imported objective {objective}",
                    f"{objective}.{index + 1}",
                    f"Imported action {index + 1}",
                    f"What imported action {index + 1} does.",
                    "NCA",
                    "Home Office; Global Partner Network" if index % 10 == 0 else "Home Office",
                    "secretariat",
                    "2027-01-01",
                    "2026-01-01" if index + 2 == bad_row else "2029-12-31",
                    "Quarterly",
                ]
            )
    return path


def upload(page, live_server, path):
    page.goto(f"{live_server.url}/plan/import/")
    page.get_by_label("Plan file").set_input_files(str(path))
    page.get_by_label("A new plan").check()
    page.get_by_label("Title of the new plan").fill("Imported plan 2027 to 2030")
    page.get_by_role("button", name="Check the file").click()


def test_import_a_200_row_plan(demo, sign_in, live_server, tmp_path):
    page = sign_in("secretariat")
    page.goto(f"{live_server.url}/plan/")
    page.get_by_role("link", name="Import a plan from a spreadsheet").click()
    upload(page, live_server, plan_file(tmp_path / "plan.csv"))
    expect(page.get_by_role("heading", name="Check the plan import")).to_be_visible()
    summary = page.locator("#plan-import-summary")
    expect(summary).to_contain_text("Actions to add200")
    # The unknown organisation is a problem until it is ticked for adding.
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "No organisation is called “Global Partner Network” (rows 2, 12, 22, 32, 42 and 15 more): tick it under "
        "New organisations to add it"
    )
    expect(page.locator("#row-12")).to_contain_text("Supporting partners: No organisation is called")
    expect(page.locator("#plan-import-rows tbody tr")).to_have_count(100)
    page.get_by_label("Global Partner Network").check()
    page.get_by_role("button", name=f"Confirm and import {ROWS} rows").click()
    expect(page.get_by_role("heading", name="Plan import finished")).to_be_visible(timeout=60_000)
    expect(page.locator(".govuk-panel__body")).to_contain_text(f"{ROWS} actions added or changed")

    plan = Plan.objects.get(title="Imported plan 2027 to 2030")
    actions = Action.objects.filter(objective__priority__plan=plan)
    assert actions.count() == ROWS
    assert Organisation.objects.filter(name="Global Partner Network").count() == 1
    assert ActionChange.objects.filter(action__in=actions, field="created", via="import").count() == ROWS
    # The plan page shows one plan: the current one stays the default, the switcher offers the new one.
    page.goto(f"{live_server.url}/plan/")
    expect(page.get_by_label("Plan", exact=True)).to_contain_text("Imported plan 2027 to 2030")
    page.goto(f"{live_server.url}/plan/?plan={plan.slug}")
    expect(page.get_by_role("heading", name="Imported plan 2027 to 2030")).to_be_visible()


def test_a_file_with_one_bad_row_writes_nothing_and_names_the_row_and_column(demo, sign_in, live_server, tmp_path):
    plans, actions = Plan.objects.count(), Action.objects.count()
    page = sign_in("secretariat")
    upload(page, live_server, plan_file(tmp_path / "plan.csv", bad_row=57))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Row 57, target date: The target date is before the start date.")
    expect(page.locator("#row-57")).to_contain_text("Target date: The target date is before the start date.")
    expect(page.get_by_role("button", name=re.compile("Confirm and import"))).to_have_count(0)
    page.get_by_role("link", name="Show only the rows with problems").click()
    expect(page.locator("#plan-import-rows tbody tr")).to_have_count(ROWS // 10 + 1)
    assert (Plan.objects.count(), Action.objects.count()) == (plans, actions)
    assert not Organisation.objects.filter(name="Global Partner Network").exists()


def test_a_hostile_workbook_gets_a_clear_answer(demo, sign_in, live_server, tmp_path):
    page = sign_in("secretariat")
    page.set_viewport_size({"width": 390, "height": 900})
    bomb = tmp_path / "laughs.xlsx"
    bomb.write_bytes(entity_expansion())
    upload(page, live_server, bomb)
    expect(page.get_by_role("heading", name=re.compile("There is a problem"))).to_be_visible()
    expect(page.get_by_text(re.compile("declares XML entities"))).to_be_visible()
    page.reload()
    expect(page.get_by_text(re.compile("declares XML entities"))).to_be_visible()
    assert not Plan.objects.filter(title="Imported plan 2027 to 2030").exists()
