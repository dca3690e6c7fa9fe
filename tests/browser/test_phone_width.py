"""Guard "Phone width": no page scrolls sideways on a 390 px phone, whoever looks at it.

Every URL of the access matrix's table that answers a GET with an HTML page (200) to a role is
opened at 390 px as that role, with the objects the access matrix builds; a URL added to the
table later is covered without touching this file.
"""

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.test_access_matrix import EXPECTED, ROLES, _url, world  # noqa: F401 (world is a fixture)

PHONE = {"width": 390, "height": 844}
OVERFLOW = """() => {
    const root = document.documentElement;
    const clipped = (el) => {
        for (let p = el.parentElement; p && p !== root; p = p.parentElement) {
            if (getComputedStyle(p).overflowX !== "visible") return true;
        }
        return false;
    };
    const tooWide = (el) => el.getBoundingClientRect().right > root.clientWidth + 0.5 && !clipped(el);
    // The outermost elements that stick out, to name in the failure.
    const wide = [...document.body.querySelectorAll("*")]
        .filter((el) => tooWide(el) && !tooWide(el.parentElement))
        .slice(0, 5)
        .map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." + [...el.classList].join("."));
    return {scrollWidth: root.scrollWidth, viewport: root.clientWidth, wide};
}"""


def html_pages(client, kwargs, index):
    """(name, url) of every table entry that gives this role an HTML page on GET."""
    for name, (get, _) in sorted(EXPECTED.items()):
        if get[index] != 200:
            continue
        url = _url(name, kwargs)
        response = client.get(url)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            yield name, url


@pytest.mark.parametrize(("index", "role"), list(enumerate(ROLES)))
def test_no_page_scrolls_sideways_at_390px(world, live_server, browser, index, role):  # noqa: F811
    users, kwargs = world
    client = Client()
    context = browser.new_context(viewport=PHONE)
    if role != "anonymous":
        client.force_login(users[role])
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    checked, too_wide = [], {}
    for name, url in html_pages(client, kwargs, index):
        response = page.goto(live_server.url + url)
        assert response.status == 200, f"{url} as {role}"
        measured = page.evaluate(OVERFLOW)
        checked.append(name)
        if measured["scrollWidth"] > measured["viewport"]:
            too_wide[url] = measured
    context.close()
    assert checked, f"no page checked for {role}"
    assert not too_wide, f"pages wider than a 390 px phone as {role}: {too_wide}"


def signed_in_page(browser, live_server, username, **context_args):
    context = browser.new_context(**context_args)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return context, page


@pytest.mark.parametrize("javascript", [True, False])
def test_on_a_phone_the_register_filters_fold_behind_filter(demo, browser, live_server, screenshot_path, javascript):
    context, page = signed_in_page(browser, live_server, "secretariat", viewport=PHONE, java_script_enabled=javascript)
    page.goto(f"{live_server.url}/actions/")
    toggle = page.locator("#action-filters-toggle > summary")
    expect(toggle).to_be_visible()
    expect(page.get_by_label("Search")).to_be_hidden()
    # The first screen shows results, not filters.
    expect(page.locator("#action-register tbody tr").first).to_be_in_viewport()
    if javascript:
        page.screenshot(path=screenshot_path("register-phone.png"))
    toggle.click()
    expect(page.get_by_label("Search")).to_be_visible()
    page.get_by_label("Search").fill("Europol")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"q=Europol"))
    expect(page.locator("#action-register tbody tr")).to_have_count(4)
    page.goto(f"{live_server.url}/actions/?q=Europol")
    expect(toggle).to_contain_text("Filter (1 applied)")
    context.close()


def test_on_a_desktop_the_register_filters_are_open(demo, browser, live_server):
    context, page = signed_in_page(browser, live_server, "secretariat", viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/actions/")
    expect(page.get_by_label("Search")).to_be_visible()
    expect(page.locator("#action-filters-toggle > summary")).to_be_hidden()
    context.close()


def test_a_wide_table_scrolls_inside_itself_with_a_cue(demo, browser, live_server, screenshot_path):
    context, page = signed_in_page(browser, live_server, "commissioner", viewport=PHONE)
    page.goto(f"{live_server.url}/dashboard/")
    table = page.locator("#engagement, table").filter(has_text="Reported within").first
    box = table.evaluate("t => ({client: t.clientWidth, scroll: t.scrollWidth, style: getComputedStyle(t).overflowX})")
    assert box["scroll"] > box["client"] and box["style"] == "auto"
    # The cue: a shadow drawn at the edge that has more to show.
    assert "radial-gradient" in table.evaluate("t => getComputedStyle(t).backgroundImage")
    # Keyboard users can reach it to scroll it (static/js/app.js).
    assert table.get_attribute("tabindex") == "0"
    table.evaluate("t => { t.scrollIntoView({block: 'start'}); window.scrollBy(0, -20); }")
    page.screenshot(path=screenshot_path("dashboard-phone.png"))
    context.close()
