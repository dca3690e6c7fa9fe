"""The secretariat builds a second plan from scratch in the browser and finds it across the product."""

import re

from playwright.sync_api import expect

TITLE = "Strategic Plan for Victim Support"


def _add_action(page, *, objective, code, title, lead, supporting):
    page.get_by_role("link", name=f"Add an action to objective {objective}").click()
    expect(page.get_by_role("heading", name="Add an action")).to_be_visible()
    page.get_by_label("Code").fill(code)
    page.get_by_label("Short title").fill(title)
    page.get_by_label("Published description").fill(f"{title}, as the plan publishes it.")
    page.get_by_label("Owner").select_option(index=1)
    page.get_by_label("Start date").fill("2026-10-01")
    page.get_by_label("Target date").fill("2027-09-30")
    page.get_by_label("Update frequency").select_option(label="Quarterly")
    page.locator("#id_lead_partners-group").get_by_label(lead, exact=True).check()
    page.locator("#id_supporting_partners-group").get_by_label(supporting, exact=True).check()
    page.get_by_role("button", name="Add the action").click()
    expect(page.get_by_text(f"Action {code} added.")).to_be_visible()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    page.get_by_role("link", name="The plan", exact=True).first.click()


def test_the_secretariat_builds_a_second_plan_and_sees_it_everywhere(demo, sign_in, live_server):
    page = sign_in("secretariat")
    page.goto(f"{live_server.url}/plan/")
    page.get_by_role("link", name="Start a new plan").click()
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Publisher (optional)").fill("Office of the Commissioner")
    page.get_by_label("Start date").fill("2026-10-01")
    page.get_by_label("End date").fill("2029-09-30")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.get_by_text(f"Plan “{TITLE}” started")).to_be_visible()
    expect(page.get_by_role("heading", name=TITLE, exact=True)).to_be_visible()

    page.get_by_role("link", name=f"Add a priority to {TITLE}").click()
    page.get_by_label("Number").fill("1")
    page.get_by_label("Title").fill("Support for survivors")
    page.get_by_role("button", name="Add the priority").click()
    expect(page.get_by_role("heading", name="Priority 1: Support for survivors")).to_be_visible()

    # A clash is a clear error on the form, not a server error.
    page.get_by_role("link", name=f"Add a priority to {TITLE}").click()
    page.get_by_label("Number").fill("1")
    page.get_by_label("Title").fill("Twice")
    page.get_by_role("button", name="Add the priority").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("This plan already has a priority 1")
    page.get_by_role("link", name="Back to the plan").click()

    page.get_by_role("link", name="Add an objective to priority 1").click()
    page.get_by_label("Code").fill("1.1")
    page.get_by_label("Title").fill("Survivors are supported across borders")
    page.get_by_role("button", name="Add the objective").click()
    expect(page.get_by_text("Objective 1.1 added")).to_be_visible()

    _add_action(
        page, objective="1.1", code="1.11", title="Shared survivor pathway", lead="Europol", supporting="Eurojust"
    )
    _add_action(
        page, objective="1.1", code="1.12", title="Repatriation guidance", lead="Eurojust", supporting="Europol"
    )

    page.get_by_role("link", name=f"Add an indicator to {TITLE}").click()
    page.get_by_label("Code").fill("VS1")
    page.get_by_label("Statement").fill("More survivors receive support after returning home.")
    page.get_by_role("button", name="Add the indicator").click()
    expect(page.get_by_role("heading", name="Link or unlink actions")).to_be_visible()
    # Only this plan's actions are offered.
    expect(page.get_by_label(re.compile(r"^5\.11 "))).to_have_count(0)
    page.get_by_label("1.11 Shared survivor pathway").check()
    page.get_by_role("button", name="Save the linked actions").click()

    # The outline shows the whole plan, each item with its edit link, and its history.
    page.goto(f"{live_server.url}/plan/")
    indicator_row = page.get_by_role("row", name=re.compile("VS1"))
    expect(indicator_row).to_contain_text("1.11")
    expect(page.get_by_role("link", name="Edit action 1.12")).to_be_visible()
    history = page.locator("table[id^=plan-history-]", has=page.get_by_role("cell", name="Objective 1.1"))
    expect(history).to_contain_text("Priority 1")

    # The register, the dashboard and the progress report show the new actions.
    page.goto(f"{live_server.url}/actions/?q=Shared+survivor")
    expect(page.get_by_role("link", name="1.11", exact=True)).to_be_visible()
    page.goto(f"{live_server.url}/actions/?q=Repatriation")
    expect(page.get_by_role("link", name="1.12", exact=True)).to_be_visible()

    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("main")).to_contain_text("1.1 Survivors are supported across borders")

    page.goto(f"{live_server.url}/reports/progress/")
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    # The report lists every action; the objective's name leads to its section.
    page.get_by_role("link", name="1.1 Survivors are supported across borders").click()
    report = page.locator("main")
    expect(report).to_contain_text("Shared survivor pathway")
    expect(report).to_contain_text("Repatriation guidance")
