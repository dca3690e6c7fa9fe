from playwright.sync_api import expect


def test_demo_accounts_sign_in_and_land_on_their_home(demo, sign_in, live_server):
    page = sign_in("secretariat")
    expect(page.get_by_role("link", name="Plan Tracker")).to_be_visible()
    expect(page.locator("h1")).to_be_visible()
    assert "/accounts/login/" not in page.url
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Plan Tracker")).to_be_visible()


def test_wrong_password_is_refused_with_an_error_summary(demo, sign_in):
    page = sign_in("partner-europol", password="not the password")
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
