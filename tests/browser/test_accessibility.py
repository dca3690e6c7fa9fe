"""Every page, as each role that sees it, passes axe-core with no serious or critical violations."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from indicators.models import Measure, Measurement, SuccessIndicator
from priorities.models import Action, Status
from priorities.services import submission_create
from tracker.models import Organisation, User

SERIOUS = {"serious", "critical"}


def pages_for(role):
    """(name, path) of the pages a role uses, built from the demo data."""
    action = Action.objects.get(code="5.22")
    jit = Measure.objects.get(name__startswith="Joint Investigation Teams set up")
    indicator = jit.indicator
    measurement = Measurement.objects.filter(measure=jit).first()
    common = [
        ("plan", reverse("priorities:plan")),
        ("indicators", reverse("indicators:indicator-list")),
        ("indicator", indicator.get_absolute_url()),
        ("action", action.get_absolute_url()),
        ("account", reverse("account")),
        ("change password", reverse("password-change")),
        ("set up two-step sign-in", reverse("two-step-setup")),
    ]
    staff = [
        ("dashboard", reverse("overview:dashboard")),
        ("report", reverse("overview:progress-report")),
        ("register", reverse("priorities:action-list")),
        ("register filtered", reverse("priorities:action-list") + "?status=at_risk&overdue=on"),
        ("reviews", reverse("overview:review-queue")),
        ("organisations", reverse("organisation-list")),
        ("organisation", Organisation.objects.get(slug="europol").get_absolute_url()),
    ]
    if role == "partner-europol":
        return [("home", "/"), *common]
    if role == "commissioner":
        return staff + common
    return (
        staff
        + common
        + [
            ("edit action", reverse("priorities:action-edit", args=[action.pk])),
            ("measure form", reverse("indicators:measure-update", args=[jit.pk])),
            ("new measure", reverse("indicators:measure-create", args=[indicator.pk])),
            ("measurement form", reverse("indicators:measurement-update", args=[measurement.pk])),
            ("indicator actions", reverse("indicators:indicator-actions", args=[indicator.pk])),
            ("import", reverse("indicators:import-upload")),
            ("edit plan", reverse("priorities:plan-edit", args=[action.objective.priority.plan_id])),
            ("new action", reverse("priorities:action-create", args=[action.objective_id])),
            ("edit indicator", reverse("indicators:indicator-update", args=[indicator.pk])),
            ("archive or delete an action", reverse("priorities:action-archive", args=[action.pk])),
            ("archive or delete an indicator", reverse("indicators:indicator-archive", args=[indicator.pk])),
            ("archived items", reverse("priorities:archived-items")),
            ("publish the plan", reverse("priorities:plan-publish", args=[action.objective.priority.plan_id])),
            ("people", reverse("person-list")),
            ("a person", reverse("person-detail", args=[User.objects.get(username="partner-europol").pk])),
            ("access log", reverse("audit:access-log")),
            ("retention", reverse("privacy:retention")),
            ("edit the privacy notice", reverse("privacy-notice-edit")),
        ]
    )


@pytest.fixture
def axe_page(browser, live_server):
    # axe-core is injected as a script: let it past our Content-Security-Policy in this test only.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def serious_violations(page):
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("role", ["secretariat", "commissioner", "partner-europol"])
def test_every_page_passes_axe(demo, axe_page, live_server, role):
    europol = User.objects.get(username="partner-europol")
    submission_create(
        action=Action.objects.get(code="5.23"), by=europol, status=Status.ON_TRACK, note="For the review queue"
    )
    sign_in(axe_page, live_server, role)
    found = {}
    for name, path in pages_for(role):
        response = axe_page.goto(f"{live_server.url}{path}")
        assert response.status == 200, f"{name}: {response.status}"
        violations = serious_violations(axe_page)
        if violations:
            found[name] = violations
    assert not found, found


def test_anonymous_pages_and_error_states_pass_axe(demo, axe_page, live_server):
    for path in (reverse("privacy-notice"), reverse("accessibility-statement"), "/accounts/login/"):
        axe_page.goto(f"{live_server.url}{path}")
        assert not serious_violations(axe_page), path
    axe_page.get_by_role("button", name="Sign in").click()  # empty form: the error summary
    expect(axe_page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert not serious_violations(axe_page)
    axe_page.goto(f"{live_server.url}{reverse('password-reset')}")
    assert not serious_violations(axe_page)
    axe_page.get_by_role("button", name="Send the link").click()
    expect(axe_page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert not serious_violations(axe_page)
    sign_in(axe_page, live_server, "secretariat")
    axe_page.goto(f"{live_server.url}{Action.objects.get(code='5.22').get_absolute_url()}")
    axe_page.get_by_label("Off track").check()
    axe_page.get_by_role("button", name="Record update").click()
    expect(axe_page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert not serious_violations(axe_page)
    assert SuccessIndicator.objects.exists()


def test_update_form_and_register_filters_work_with_the_keyboard_alone(demo, sign_in, live_server, page):
    sign_in("secretariat")
    page.goto(f"{live_server.url}/actions/")
    # The skip link is the first thing the keyboard reaches.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.get_by_label("Search").focus()
    page.keyboard.type("Joint Investigation")
    page.keyboard.press("Enter")
    expect(page.locator("#action-register tbody tr")).to_have_count(1)
    # Status checkboxes: reach one with Tab and tick it with Space.
    page.get_by_label("At risk").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("At risk")).to_be_checked()
    # The table is swapped in by htmx, which then puts the filter in the address: wait for it, so the
    # link focused next is the new table's, not one about to be replaced (the row count is 1 either way).
    expect(page).to_have_url(re.compile(r"status=at_risk"))
    expect(page.locator("#action-register tbody tr")).to_have_count(1)
    link = page.get_by_role("link", name="5.22", exact=True)
    link.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Joint Investigation Teams")).to_be_visible()

    page.get_by_label("On track").focus()
    page.keyboard.press("Space")
    expect(page.get_by_label("On track")).to_be_checked()
    page.get_by_label("Note").focus()
    page.keyboard.type("Teams restarted after funding was agreed.")
    page.get_by_role("button", name="Record update").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Update recorded: 5.22 is now on track.")).to_be_visible()
