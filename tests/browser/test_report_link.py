"""A partner follows the link in a reminder on a phone, with no account open, and reports in a few taps."""

import datetime
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from messaging.reminders import reminders_run_daily
from priorities.models import Status, Submission, UpdateFrequency
from tests.factories import ActionFactory, ActionPartnerFactory, OrganisationFactory, PartnerFactory, SecretariatFactory

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def reminded(transactional_db, live_server, settings):
    """A reminder sent to a Europol user about 5.31, its links pointing at the live server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = live_server.url
    organisation = OrganisationFactory(name="Europol", slug="europol")
    PartnerFactory(username="eva", email="eva@example.org", organisation=organisation)
    owner = SecretariatFactory(username="owner", email="owner@example.org")
    today = datetime.date.today()
    urls = {}
    for code in ("5.31", "5.32"):
        action = ActionFactory(
            code=code, title=f"Joint investigations {code}", owner=owner, update_frequency=UpdateFrequency.QUARTERLY
        )
        ActionPartnerFactory(action=action, organisation=organisation)
        type(action).objects.filter(pk=action.pk).update(next_update_due=today + datetime.timedelta(days=3))
    reminders_run_daily(today=today, send_now=True)
    [digest] = mail.outbox
    for code, url in re.findall(
        r"- (5\.3\d) .*?Report progress without signing in.*?\n\s+(\S+/report/\S+/)", digest.body, re.S
    ):
        urls[code] = url
    assert set(urls) == {"5.31", "5.32"}, digest.body
    return urls


def test_a_reminder_s_link_on_a_phone_reports_without_signing_in(reminded, browser, screenshot_path):
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.goto(reminded["5.31"])
    expect(page.get_by_role("heading", name="5.31 Joint investigations 5.31")).to_be_visible()
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_label("At risk").check()
    page.get_by_role("button", name="Send report").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Explain why the action is at risk or off track.")
    page.get_by_label("Note").fill("The joint team meets in March; one partner withdrew.")
    page.screenshot(path=screenshot_path("report-link-phone.png"), full_page=True)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", name="Report sent")).to_be_visible()
    submission = Submission.objects.get()
    assert (submission.action.code, submission.status, submission.submitted_by.username) == (
        "5.31",
        Status.AT_RISK,
        "eva",
    )
    page.goto(reminded["5.31"])
    expect(page.get_by_text("This link has already been used")).to_be_visible()
    expect(page.get_by_role("button", name="Send me a new link")).to_be_visible()
    context.close()


def test_the_link_works_without_javascript(reminded, browser):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(reminded["5.32"])
    page.get_by_label("On track").check()
    page.get_by_label("Note").fill("Started: the first joint meeting was held.")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", name="Report sent")).to_be_visible()
    assert Submission.objects.get().action.code == "5.32"
    context.close()


def test_the_link_pages_and_the_choices_page_pass_axe(reminded, browser, live_server):
    from axe_playwright_python.sync_playwright import Axe

    def serious(page):
        violations = Axe().run(page).response["violations"]
        return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in {"serious", "critical"}]

    # axe-core is injected as a script: let it past our Content-Security-Policy in this test only.
    context = browser.new_context(bypass_csp=True, viewport=PHONE)
    page = context.new_page()
    page.goto(reminded["5.31"])
    assert not serious(page)
    page.get_by_label("Off track").check()
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert not serious(page)
    page.goto(reminded["5.31"][:-3] + "xx/")
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    assert not serious(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("eva")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/accounts/notifications/")
    expect(page.get_by_role("heading", name="Email notifications")).to_be_visible()
    assert not serious(page)
    page.get_by_role("group", name="When the secretariat accepts or returns something you reported").get_by_label(
        "In a daily digest"
    ).check()
    page.get_by_role("button", name="Save choices").click()
    expect(page.get_by_text("Your email choices are saved.")).to_be_visible()
    context.close()
