"""A partner follows the link in a reminder on a phone, with no account open, and reports in a few taps."""

import datetime
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from priorities.models import Status, Submission, UpdateFrequency
from priorities.reminders import reminders_run_daily
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
