"""Several plans in the browser: start the next plan, switch between plans, and read a history across both."""

import re

from playwright.sync_api import expect

NEW_PLAN = "Strategic Plan 2027 to 2029"


def register_codes(page):
    return [code.strip() for code in page.locator("#action-register tbody tr td:first-child").all_inner_texts()]


def test_start_the_next_plan_switch_plans_and_read_history_across_both(demo, sign_in, live_server):
    page = sign_in("secretariat")
    page.goto(f"{live_server.url}/plan/")
    page.get_by_role("link", name="Start the next plan").first.click()
    expect(page.get_by_role("heading", name="Start the next plan")).to_be_visible()
    boxes = page.locator('input[name="actions"]')
    # Unfinished actions come chosen; keep two of them.
    assert boxes.count() > 2
    for box in boxes.all():
        if box.is_checked():
            box.uncheck()
    page.get_by_label(re.compile(r"^5\.11 ")).check()
    page.get_by_label(re.compile(r"^5\.12 ")).check()
    page.get_by_label("Title of the new plan").fill(NEW_PLAN)
    page.get_by_label("Start date").fill("2027-01-01")
    page.get_by_label("End date").fill("2029-12-31")
    page.get_by_role("button", name="Start the plan").click()

    # The register of the new plan: the two copies, and the switcher names it.
    expect(page.get_by_text(f"{NEW_PLAN} started: 2 actions carried forward")).to_be_visible()
    assert "plan=strategic-plan-2027-to-2029" in page.url
    assert register_codes(page) == ["5.11", "5.12"]
    switcher = page.get_by_label("Plan", exact=True)
    expect(switcher).to_have_value("strategic-plan-2027-to-2029")

    # Switch to the published plan: the register shows its actions.
    switcher.select_option("international-collaboration")
    page.get_by_role("button", name="Show plan").click()
    assert "plan=international-collaboration" in page.url
    old_codes = register_codes(page)
    assert "5.13" in old_codes and len(old_codes) > 2

    # The next visit, without ?plan=, remembers the choice.
    page.goto(f"{live_server.url}/actions/")
    assert register_codes(page) == old_codes
    expect(page.get_by_label("Plan", exact=True)).to_have_value("international-collaboration")

    # The copy of 5.11 reads its history across both plans; the original links to the copy.
    page.goto(f"{live_server.url}/actions/?plan=strategic-plan-2027-to-2029")
    page.locator("#action-register").get_by_role("link", name="5.11", exact=True).click()
    heading = page.get_by_role(
        "heading", name=f"Before {NEW_PLAN}: history in Strategic Plan for International Collaboration"
    )
    expect(heading).to_be_visible()
    history = page.locator("#predecessor-change-history")
    expect(history).to_contain_text("Carried forward to")
    expect(history).to_contain_text(f"5.11 in {NEW_PLAN}")
    expect(page.locator("#change-history")).to_contain_text("Carried forward from")
    page.locator("#predecessor").get_by_role("link").click()
    expect(page.locator("#successors")).to_contain_text(NEW_PLAN)
