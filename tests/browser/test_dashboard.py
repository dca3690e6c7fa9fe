from playwright.sync_api import expect


def test_commissioner_follows_at_risk_to_the_register(demo, sign_in, live_server, screenshot_path):
    page = sign_in("commissioner")
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=screenshot_path("dashboard.png"), full_page=True)

    at_risk = page.locator("#headline-counts a", has_text="At risk")
    count = int(at_risk.locator(".app-headline__count").inner_text())
    listed = set(page.locator("#in-trouble li a").all_inner_texts())
    at_risk.click()
    expect(page.get_by_role("heading", name="Actions")).to_be_visible()
    rows = page.locator("#action-register tbody tr")
    expect(rows).to_have_count(count)
    codes = [row.locator("td").first.inner_text().strip() for row in rows.all()]
    assert all(any(text.startswith(code + " ") for text in listed) for code in codes)
    for row in rows.all():
        expect(row).to_contain_text("At risk")
