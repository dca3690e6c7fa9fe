import re

from playwright.sync_api import expect

JIT = "Joint Investigation Teams set up between UK police forces and European counterparts"


def test_secretariat_records_a_jit_measurement_and_sees_it_on_the_indicator_page(
    demo, sign_in, live_server, screenshot_path
):
    page = sign_in("secretariat")
    page.get_by_role("link", name="Indicators").first.click()
    expect(page.get_by_role("heading", name="Success indicators")).to_be_visible()
    page.get_by_role("link", name=re.compile("Joint Investigation Teams set up between UK police forces")).click()

    section = page.locator("section.app-measure", has=page.get_by_role("heading", name=JIT, exact=True))
    # The demo data has 2023 and 2024; the chart already has two points.
    expect(section.locator("svg.app-chart circle")).to_have_count(2)
    section.get_by_role("link", name=f"Record a measurement for {JIT}").click()

    expect(page.get_by_role("heading", name="Record a measurement")).to_be_visible()
    page.get_by_label("Period start").fill("2025-01-01")
    page.get_by_label("Period end").fill("2025-12-31")
    page.get_by_label("Value").fill("9")
    page.get_by_label("Source").fill("NCA annual return")
    page.get_by_role("button", name="Record the measurement").click()

    expect(page.get_by_text("Value recorded for 2025.")).to_be_visible()
    section = page.locator("section.app-measure", has=page.get_by_role("heading", name=JIT, exact=True))
    chart = section.locator("svg.app-chart")
    expect(chart.locator("circle")).to_have_count(3)
    expect(chart.locator("text.app-chart__period", has_text="2025")).to_be_visible()
    expect(chart.locator("desc")).to_contain_text("from 4 for 2023 to 9 for 2025")
    values_table = section.locator("table", has=page.locator("caption", has_text="Values"))
    expect(values_table.get_by_role("row", name="2025 9")).to_be_visible()
    measurements = section.locator("table", has=page.locator("caption", has_text="Measurements of"))
    expect(measurements).to_contain_text("NCA annual return")
    expect(page.locator("#changes")).to_be_visible()
    page.screenshot(path=screenshot_path("indicator-jit.png"), full_page=True)

    # The list shows the new latest value.
    page.get_by_role("link", name="Success indicators").click()
    row = page.get_by_role("row", name=re.compile(re.escape(JIT)))
    expect(row).to_contain_text("9")
    expect(row).to_contain_text("2025")

    # The dashboard's indicator panel shows it too, with its trend line.
    page.goto(f"{live_server.url}/dashboard/")
    panel_row = page.locator("#indicator-panel ~ section").get_by_role("row", name=re.compile(re.escape(JIT)))
    expect(panel_row).to_contain_text("9")
    expect(panel_row).to_contain_text("2025")
    expect(panel_row.locator("svg.app-sparkline circle")).to_have_count(1)
    expect(panel_row.locator("svg.app-sparkline polyline")).to_have_attribute("points", re.compile(r"(\S+ ){2}\S+"))


def test_a_bad_measurement_gets_an_error_summary(demo, sign_in, live_server):
    page = sign_in("secretariat")
    page.goto(f"{live_server.url}/indicators/")
    page.get_by_role("link", name=re.compile("Joint Investigation Teams set up between UK police forces")).click()
    page.get_by_role("link", name=f"Record a measurement for {JIT}").click()
    page.get_by_label("Period start").fill("2024-01-01")
    page.get_by_label("Period end").fill("2024-12-31")
    page.get_by_label("Value").fill("3")
    page.get_by_role("button", name="Record the measurement").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("already has a value for that period"))).to_be_visible()
