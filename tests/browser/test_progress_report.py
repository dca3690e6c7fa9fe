"""The printed progress report: every action on paper, a Print button under the strict CSP, aligned columns."""

from playwright.sync_api import expect

STATUS_LEFT_EDGES = """() => [...document.querySelectorAll('.app-report-table--actions')].map(
    table => Math.round(table.querySelector('thead th:nth-child(2)').getBoundingClientRect().left)
)"""


def test_print_button_prints_and_is_not_on_paper(demo, sign_in, live_server):
    page = sign_in("commissioner")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/reports/progress/")
    button = page.get_by_role("button", name="Print", exact=True)
    expect(button).to_be_visible()
    # Count calls instead of opening the print dialog (evaluate runs outside the page's CSP).
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    button.click()
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    expect(button).to_be_hidden()


def test_columns_sit_in_the_same_place_in_every_table_and_phones_show_labelled_lines(demo, sign_in, live_server):
    """Every objective's actions are on the one page: their columns line up, on screen and on paper.

    On a phone screen each action is a block of labelled lines (five columns do not fit), without
    sideways scrolling; printed from a phone, the tables are tables again.
    """
    page = sign_in("commissioner")
    page.goto(f"{live_server.url}/reports/progress/")
    assert page.locator(".app-report-table--actions").count() == 4
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for media in ("screen", "print"):
            page.emulate_media(media=media)
            if width == 390 and media == "screen":
                assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
                cell = page.locator(".app-report-table--actions tbody td[data-label=Status]").first
                assert page.evaluate("c => getComputedStyle(c, '::before').content", cell.element_handle()) == (
                    '"Status: "'
                )
                continue
            edges = page.evaluate(STATUS_LEFT_EDGES)
            assert len(edges) == 4 and len(set(edges)) == 1, (width, media, edges)


def test_printed_the_report_holds_every_action_and_nothing_to_click(demo, sign_in, live_server):
    page = sign_in("commissioner")
    page.goto(f"{live_server.url}/reports/progress/")
    from priorities.models import Action

    total = Action.objects.live().count()
    rows = page.locator(".app-report-table--actions tbody tr")
    assert rows.count() == total
    page.emulate_media(media="print")
    for row in rows.all():
        expect(row).to_be_visible()
    expect(page.locator("#report-scope")).to_contain_text(f"lists all {total} actions")
    expect(page.locator("form.app-no-print")).to_be_hidden()
    expect(page.locator(".govuk-service-navigation")).to_be_hidden()


def test_no_print_button_without_javascript(demo, browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("commissioner")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/reports/progress/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("The plan as it stood on")
    expect(page.locator("[data-app-print]")).to_be_hidden()
    context.close()
