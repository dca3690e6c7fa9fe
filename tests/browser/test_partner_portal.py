from playwright.sync_api import expect

from tests.factories import partnered_actions
from tracker.models import Organisation

EUROPOL_ACTIONS = ["5.21", "5.22", "5.23", "5.24"]


def test_europol_reports_and_the_secretariat_accepts(demo, sign_in, live_server, page):
    sign_in("partner-europol")
    expect(page.get_by_role("heading", name="Your actions")).to_be_visible()
    rows = page.locator("#partner-actions tbody tr")
    expect(rows).to_have_count(len(EUROPOL_ACTIONS))
    codes = [row.locator("a").first.inner_text() for row in rows.all()]
    assert codes == EUROPOL_ACTIONS

    # Another organisation's action is not there for them.
    response = page.goto(f"{live_server.url}/actions/511/")
    assert response.status == 404
    page.goto(f"{live_server.url}/")

    page.get_by_role("link", name="5.23", exact=True).first.click()
    page.get_by_label("On track").check()
    page.get_by_label("Note").fill("Europol delivered the first training session to six UK forces.")
    page.get_by_role("button", name="Submit progress").click()
    expect(page.get_by_text("Progress on 5.23 submitted.")).to_be_visible()
    expect(page.locator("#submissions")).to_contain_text("Awaiting review")
    page.get_by_role("button", name="Sign out").click()

    sign_in("secretariat")
    expect(page.get_by_role("link", name="Reviews (1)")).to_be_visible()
    page.get_by_role("link", name="Reviews (1)").click()
    card = page.locator(".govuk-summary-card").first
    expect(card).to_contain_text("Europol delivered the first training session")
    card.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted: 5.23 is now on track")).to_be_visible()

    page.goto(f"{live_server.url}/actions/523/")
    expect(page.locator("#action-summary")).to_contain_text("On track")
    first = page.locator("#progress-history li").first
    expect(first).to_contain_text("Reported by Eva Europol (demo) (Europol), accepted by Sam Secretariat (demo)")


def test_a_busy_partners_home_pages_its_actions_on_a_phone(demo, sign_in, live_server, page):
    partnered_actions(Organisation.objects.get(slug="europol"), 120, prefix="8")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("partner-europol")
    expect(page.locator("#partner-summary")).to_contain_text("124")
    expect(page.locator("#partner-actions tbody tr")).to_have_count(50)
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    pagination = page.get_by_role("navigation", name="Pages of your actions")
    expect(pagination).to_be_visible()
    pagination.get_by_role("link", name="Next").click()
    expect(page.locator("#partner-actions caption")).to_contain_text("51 to 100 of 124")
    assert "page=2" in page.url
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
