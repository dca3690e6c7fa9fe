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
    """Each objective's actions are their own section (?objective=): the status column lines up across them."""
    page = sign_in("commissioner")
    page.goto(f"{live_server.url}/reports/progress/")
    sections = page.locator(".app-report-table--objectives tbody a").evaluate_all("links => links.map(a => a.href)")
    assert len(sections) == 4
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for media in ("screen", "print"):
            edges, widths = [], []
            for href in sections:
                page.goto(href)
                page.emulate_media(media=media)
                [edge] = page.evaluate(STATUS_LEFT_EDGES)
                edges.append(edge)
                widths.append(
                    page.evaluate(
                        """() => Math.round(document.querySelector('.app-report-table--actions thead th:nth-child(2)')
                           .getBoundingClientRect().width)"""
                    )
                )
            assert len(set(edges)) == 1, (width, media, edges)
            assert len(set(widths)) == 1, (width, media, widths)


def test_a_section_prints_what_is_on_screen_and_names_the_download(demo, sign_in, live_server):
    page = sign_in("commissioner")
    page.goto(f"{live_server.url}/reports/progress/")
    page.locator(".app-report-table--objectives tbody a").first.click()
    expect(page.locator("#objective-actions table tbody tr").first).to_be_visible()
    expect(page.locator("#report-scope")).to_contain_text("The full report, every action with its latest note, is")
    page.emulate_media(media="print")
    expect(page.locator("#objective-actions table")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the summary only")).to_be_hidden()


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
