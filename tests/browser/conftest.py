"""Browser tests: Playwright drives Debian's chromium (no browser downloads) against live_server."""

import os

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM must still be allowed here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "screenshots")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def demo(transactional_db):
    """The published plan and the demo accounts, as `make run` has them."""
    from django.core.management import call_command

    call_command("loaddata", "priority5", verbosity=0)
    call_command("check_stored_counts", fix=True, verbosity=0, stdout=open(os.devnull, "w"))
    call_command("load_demo", force=True, verbosity=0)


@pytest.fixture
def sign_in(live_server, page):
    def _sign_in(username, password="demo"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return _sign_in


@pytest.fixture
def screenshot_path(tmp_path):
    """Where a test saves a screenshot: docs/screenshots/ with UPDATE_SCREENSHOTS=1, else a temporary folder.

    Every run would otherwise rewrite the documentation's pictures (a changed PNG in every checkout
    after `make test`); the tests still take every screenshot, so a page that cannot be shot fails.
    """
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else str(tmp_path)

    def _path(name):
        os.makedirs(folder, exist_ok=True)
        return os.path.abspath(os.path.join(folder, name))

    return _path
