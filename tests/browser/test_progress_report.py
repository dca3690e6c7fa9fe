"""The printed progress report: a Print button that works under the strict CSP, and aligned status columns."""

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


def test_status_column_sits_in_the_same_place_in_every_table(demo, sign_in, live_server):
    page = sign_in("commissioner")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/reports/progress/")
        for media in ("screen", "print"):
            page.emulate_media(media=media)
            edges = page.evaluate(STATUS_LEFT_EDGES)
            assert len(edges) == 4 and len(set(edges)) == 1, (width, media, edges)
            widths = page.evaluate(
                """() => [...document.querySelectorAll('.app-report-table--actions thead th:nth-child(2)')]
                   .map(th => Math.round(th.getBoundingClientRect().width))"""
            )
            assert len(set(widths)) == 1, (width, media, widths)


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
