import re

from playwright.sync_api import expect


def test_secretariat_filters_opens_and_updates_an_action(demo, sign_in, live_server, screenshot_path):
    page = sign_in("secretariat")
    page.goto(f"{live_server.url}/actions/")
    expect(page.get_by_role("heading", name="Actions")).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.screenshot(path=screenshot_path("register.png"), full_page=True)

    # Ticking a status refreshes the table with htmx and puts the filter in the URL.
    page.get_by_label("At risk").check()
    expect(page).to_have_url(re.compile(r"status=at_risk"))
    rows = page.locator("#action-register tbody tr")
    expect(rows).to_have_count(2)  # 5.22 and 5.42 are at risk in the demo
    expect(rows.first).to_contain_text("At risk")

    page.get_by_role("link", name="5.22", exact=True).click()
    expect(page.get_by_role("heading", name="Joint Investigation Teams")).to_be_visible()

    page.get_by_label("Off track").check()
    page.get_by_label("Note").fill("Both Joint Investigation Teams are on hold until funding is agreed.")
    page.get_by_label("Evidence link (optional)").fill("https://example.org/jit-board-minutes")
    page.get_by_role("button", name="Record update").click()

    expect(page.get_by_text("Update recorded: 5.22 is now off track.")).to_be_visible()
    first_entry = page.locator("#progress-history li").first
    expect(first_entry).to_contain_text("Both Joint Investigation Teams are on hold")
    expect(first_entry).to_contain_text("Off track")

    page.goto(f"{live_server.url}/actions/?status=off_track")
    expect(page.locator("#action-register")).to_contain_text("5.22")


def test_register_filters_work_without_javascript(demo, browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("secretariat")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/actions/")
    page.get_by_label("Search").fill("Europol")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"q=Europol"))
    expect(page.locator("#action-register tbody tr")).to_have_count(4)  # 5.21–5.24 name Europol
    context.close()


def test_register_filters_sorting_and_downloads_keep_their_htmx_behaviour(demo, sign_in, live_server):
    """The data-hx-* attributes drive htmx: filters and sorting swap the table in place, downloads do not."""
    page = sign_in("secretariat")
    page.goto(f"{live_server.url}/actions/")
    page.evaluate("window.sameDocument = true")  # a full page load would forget it

    def from_htmx(part):
        return lambda request: request.headers.get("hx-request") == "true" and part in request.url

    with page.expect_request(from_htmx("status=at_risk")):
        page.get_by_label("At risk").check()
    expect(page).to_have_url(re.compile(r"status=at_risk"))
    expect(page.locator("#action-register tbody tr")).to_have_count(2)
    with page.expect_request(from_htmx("sort=")):
        page.locator("#action-register thead a").first.click()
    expect(page).to_have_url(re.compile(r"sort="))
    expect(page.locator("#action-register tbody tr")).to_have_count(2)
    assert page.evaluate("window.sameDocument === true")

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV", exact=True).click()
    assert download.value.suggested_filename.endswith(".csv")
    # An action's link in the table is an ordinary link: it opens the action's page, not a fragment.
    page.get_by_role("link", name="5.22", exact=True).click()
    expect(page.get_by_role("heading", name="Joint Investigation Teams")).to_be_visible()
    assert page.evaluate("window.sameDocument === undefined")
