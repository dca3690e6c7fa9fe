"""The public pages in a browser: axe on each, Quick exit leaves the site, readable at phone width and in print."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from indicators.models import Measurement, SuccessIndicator
from priorities.models import Action, Objective, Plan, ProgressUpdate
from priorities.services import action_update_details, plan_publish
from tracker.models import User

SERIOUS = {"serious", "critical"}
NEUTRAL_PAGE = "<!DOCTYPE html><html lang='en'><head><title>Weather</title></head><body><h1>Weather</h1></body></html>"


@pytest.fixture
def published(demo):
    """The demo plan, published, with a public summary, its demo updates and measurements made public."""
    secretariat = User.objects.get(username="secretariat")
    action = Action.objects.get(code="5.22")
    action_update_details(action=action, by=secretariat, public_summary="Joint teams restarted in the spring.")
    ProgressUpdate.objects.update(is_public=True)
    Measurement.objects.update(is_public=True)
    plan_publish(plan=Plan.objects.get(), by=secretariat)
    return action


def public_pages(action):
    indicator = SuccessIndicator.objects.filter(measures__measurements__is_public=True).distinct().first()
    return [
        ("plan", reverse("public:plan")),
        ("objective", reverse("public:objective", args=[action.objective_id])),
        ("action", reverse("public:action", args=[action.pk])),
        ("indicator", reverse("public:indicator", args=[indicator.pk])),
        *(("objective " + o.code, reverse("public:objective", args=[o.pk])) for o in Objective.objects.all()),
    ]


@pytest.fixture
def axe_page(browser):
    # axe-core is injected as a script: let it past our Content-Security-Policy in this test only.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def test_every_public_page_passes_axe(published, axe_page, live_server):
    found = {}
    for name, path in [*public_pages(published), ("not found", reverse("public:action", args=[999999]))]:
        axe_page.goto(f"{live_server.url}{path}")
        results = Axe().run(axe_page)
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']}" for v in results.response["violations"] if v["impact"] in SERIOUS
        ]
        if violations:
            found[name] = violations
    assert not found, found


def test_quick_exit_leaves_the_site_and_the_back_button_skips_the_page(published, live_server, page):
    neutral = settings.PUBLIC_QUICK_EXIT_URL
    # No internet here: answer the neutral site's address locally.
    page.route(f"{neutral}**", lambda route: route.fulfill(status=200, content_type="text/html", body=NEUTRAL_PAGE))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    plan_url = f"{live_server.url}{reverse('public:plan')}"
    action_url = f"{live_server.url}{reverse('public:action', args=[published.pk])}"
    page.goto(plan_url)
    page.goto(action_url)
    expect(page.locator("body.govuk-frontend-supported")).to_be_visible()  # our script ran under the CSP
    page.get_by_role("button", name="Emergency Quick exit").click()
    page.wait_for_url(f"{neutral}**")
    expect(page.get_by_role("heading", name="Weather")).to_be_visible()
    # The action page was replaced in the history: Back returns to the page before it.
    page.go_back()
    assert page.url == plan_url
    assert not errors, errors


def test_quick_exit_by_pressing_shift_three_times(published, live_server, page):
    neutral = settings.PUBLIC_QUICK_EXIT_URL
    page.route(f"{neutral}**", lambda route: route.fulfill(status=200, content_type="text/html", body=NEUTRAL_PAGE))
    page.goto(f"{live_server.url}{reverse('public:plan')}")
    expect(page.locator("body.govuk-frontend-supported")).to_be_visible()
    for _ in range(3):
        page.keyboard.press("Shift")
    page.wait_for_url(f"{neutral}**")


def test_quick_exit_is_a_plain_link_without_javascript(published, live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}{reverse('public:plan')}")
    link = page.get_by_role("button", name="Emergency Quick exit")
    assert link.get_attribute("href") == settings.PUBLIC_QUICK_EXIT_URL
    context.close()


def test_public_pages_do_not_scroll_sideways_at_phone_width(published, live_server, page, screenshot_path):
    page.set_viewport_size({"width": 390, "height": 844})
    wide = {}
    for name, path in public_pages(published):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            wide[name] = overflow
        if name == "indicator":
            page.screenshot(path=screenshot_path("public-indicator-phone.png"), full_page=True)
    assert not wide, wide


def test_public_pages_print_without_quick_exit_or_navigation(published, live_server, page, screenshot_path):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}{reverse('public:action', args=[published.pk])}")
    page.screenshot(path=screenshot_path("public-action.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.locator("#quick-exit")).to_be_hidden()
    expect(page.locator(".govuk-breadcrumbs")).to_be_hidden()
    expect(page.get_by_role("heading", name=published.title)).to_be_visible()
    expect(page.get_by_text("Joint teams restarted in the spring.")).to_be_visible()
