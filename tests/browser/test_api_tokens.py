"""A partner makes an access token in the browser and a tool uses it over HTTP; revoking it stops it at once."""

import json
import urllib.error
import urllib.request

from playwright.sync_api import expect

EUROPOL_ACTIONS = ["5.21", "5.22", "5.23", "5.24"]


def call(url, secret, body=None):
    """(status, parsed JSON) of a request a tool would send, outside the browser; the API sets no cookie."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310 (a test server)
    request.add_header("Authorization", f"Bearer {secret}")
    if data:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_partner_makes_a_token_reports_through_it_and_revoking_stops_it(
    demo, sign_in, live_server, page, screenshot_path
):
    sign_in("partner-europol")
    page.goto(f"{live_server.url}/accounts/")
    page.get_by_role("link", name="Make and revoke access tokens").click()
    expect(page.get_by_role("heading", name="Access tokens", exact=True)).to_be_visible()
    page.get_by_label("Name").fill("Europol case system")
    page.get_by_label("Read and report").check()
    expect(page.get_by_label("90 days")).to_be_checked()  # the default
    page.get_by_role("button", name="Make the token").click()
    expect(page.get_by_text("Copy it now: it is shown only once.")).to_be_visible()
    secret = page.locator("#new-token-value").input_value()
    assert secret.startswith("pt_")
    expect(page.locator("#live-tokens + table")).to_contain_text("Europol case system")
    page.screenshot(path=screenshot_path("api-token-made.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    page.screenshot(path=screenshot_path("api-token-made-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    api = f"{live_server.url}/api/v1"
    status, actions = call(f"{api}/actions/", secret)
    assert status == 200 and [item["code"] for item in actions["results"]] == EUROPOL_ACTIONS
    action = next(item for item in actions["results"] if item["code"] == "5.23")
    status, submission = call(
        f"{api}/actions/{action['id']}/reports/",
        secret,
        {"status": "on_track", "note": "Reported by our case system: six forces trained."},
    )
    assert status == 201 and submission["state"] == "submitted", submission
    status, refused = call(f"{api}/actions/511/", secret)  # 5.11 is not Europol's
    assert status == 404 and refused["code"] == "not_found"

    # Revoking stops it at once: the very next request is refused.
    page.reload()
    page.get_by_role("button", name="Revoke the token Europol case system").click()
    expect(page.get_by_text("is revoked: it no longer works")).to_be_visible()
    status, body = call(f"{api}/actions/", secret)
    assert status == 401 and body["code"] == "authentication_failed"
    page.get_by_role("button", name="Sign out").click()

    sign_in("secretariat")
    page.goto(f"{live_server.url}/reviews/")
    card = page.locator(f"#submission-{submission['id']}")
    expect(card).to_contain_text("Reported by our case system")
    expect(card).to_contain_text("Reported through the API with the token “Europol case system”")
    card.screenshot(path=screenshot_path("api-report-in-review-queue.png"))


def test_the_api_docs_work_under_the_strict_csp(live_server, page, screenshot_path, transactional_db):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Plan Tracker API")
    expect(page.get_by_text("/api/v1/actions/{id}/reports/").first).to_be_visible()
    assert not [text for text in problems if "Content Security Policy" in text], problems
    page.screenshot(path=screenshot_path("api-docs.png"))
