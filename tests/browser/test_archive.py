"""Archive an action with history: it leaves the register and stays in the report for the dates it was live."""

import datetime

from django.utils import timezone
from playwright.sync_api import expect

from priorities.models import Action, Submission


def test_archive_an_action_and_find_it_in_the_report_as_of_a_live_date(demo, sign_in, live_server):
    action = (
        Action.objects.filter(updates__isnull=False)
        .exclude(submissions__state=Submission.State.SUBMITTED)
        .distinct()
        .order_by("sort_key")
        .first()
    )
    assert action.updates.exists()
    page = sign_in("secretariat")
    page.goto(f"{live_server.url}{action.get_absolute_url()}")
    page.get_by_role("link", name=f"Archive or delete action {action.code}").click()
    expect(
        page.get_by_role("heading", level=2, name=f"This will archive action {action.code}, not delete it")
    ).to_be_visible()
    page.get_by_role("button", name=f"Archive action {action.code}").click()
    expect(page.locator("#archived-banner")).to_contain_text("Archived on")
    expect(page.locator("#archived-banner")).to_contain_text(timezone.localdate().strftime("%-d %B %Y"))

    # Its own page keeps its history, with the banner and a Restore button.
    page.goto(f"{live_server.url}{action.get_absolute_url()}")
    expect(page.locator("#archived-banner")).to_be_visible()
    expect(page.get_by_role("button", name="Restore")).to_be_visible()
    expect(page.locator("#progress-history")).to_be_visible()

    # Gone from the register ...
    page.goto(f"{live_server.url}/actions/?q={action.code}")
    expect(page.locator("#action-register")).not_to_contain_text(action.title)
    # ... but in the progress report as of yesterday, when it was live; not as of today.
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    page.goto(f"{live_server.url}/reports/progress/?as_of={yesterday.isoformat()}")
    row = f'[id="report-{action.code}"]'
    expect(page.locator(row)).to_contain_text(action.title)
    page.goto(f"{live_server.url}/reports/progress/?as_of={timezone.localdate().isoformat()}")
    expect(page.locator("#report-scope")).to_contain_text("This report lists all")
    expect(page.locator(row)).to_have_count(0)

    # Restore brings it back to the register.
    page.goto(f"{live_server.url}{action.get_absolute_url()}")
    page.get_by_role("button", name="Restore").click()
    expect(page.locator("#archived-banner")).to_have_count(0)
    page.goto(f"{live_server.url}/actions/?q={action.code}")
    expect(page.locator("#action-register")).to_contain_text(action.title)
