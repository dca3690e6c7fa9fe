"""Guard: a checked radio or checkbox looks different from an unchecked one, on every page that has them.

The control's item (the drawn box or circle and its label) is photographed before and after checking
it, with the focus moved away so the focus ring does not count: the pictures must differ.
"""

import pytest
from playwright.sync_api import expect

# (who, page): every kind of page with radios or checkboxes.
PAGES = [
    ("secretariat", "/actions/511/"),  # status radios of an update
    ("partner-europol", "/actions/523/"),  # proposed status radios of a submission
    ("secretariat", "/actions/511/edit/"),  # partner checkboxes
    ("secretariat", "/actions/"),  # the register's status filter checkboxes
    ("secretariat", "/indicators/measures/{measure}/edit/"),  # unit and direction radios
    ("secretariat", "/indicators/{indicator}/actions/"),  # linked action checkboxes
]
ITEMS = ".govuk-radios__item, .govuk-checkboxes__item"


def first_unchecked_per_group(page):
    """The item of the first unchecked input of each group (by name) on the page."""
    seen, items = set(), []
    for item in page.locator(ITEMS).all():
        control = item.locator("input").first
        name = control.get_attribute("name")
        if name in seen or control.is_checked() or not item.is_visible():
            continue
        seen.add(name)
        items.append(item)
    return items


@pytest.mark.parametrize(("username", "path"), PAGES)
def test_a_checked_control_looks_checked(demo, sign_in, live_server, page, username, path):
    from indicators.models import Measure, SuccessIndicator

    path = path.format(
        measure=Measure.objects.order_by("pk").first().pk,
        indicator=SuccessIndicator.objects.order_by("pk").first().pk,
    )
    sign_in(username)
    page.goto(live_server.url + path)
    items = first_unchecked_per_group(page)
    assert items, f"{path} has no unchecked radio or checkbox"
    for item in items:
        control = item.locator("input").first
        item.scroll_into_view_if_needed()
        before = item.screenshot(animations="disabled")
        control.check()
        expect(control).to_be_checked()
        page.evaluate("document.activeElement && document.activeElement.blur()")
        page.mouse.move(0, 0)
        after = item.screenshot(animations="disabled")
        label = item.locator("label").first.inner_text()
        assert before != after, f"On {path}, checking “{label}” ({control.get_attribute('type')}) shows no mark"
        # The mark is GOV.UK's: the label's ::after is drawn only when checked.
        shown = control.evaluate("input => getComputedStyle(input.labels[0], '::after').opacity")
        assert shown == "1", f"On {path}, “{label}” has no visible check mark"
