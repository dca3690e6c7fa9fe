"""Every page of the access matrix, as every role that may see it, is valid HTML (the W3C Nu HTML Checker).

One crawl with the Django test client over realistic data (the Priority 5 plan with the demo history,
reports waiting, returned and accepted, measurements, reminders and notifications, archived items, a
next plan, an organisation with nobody yet, and the access matrix's own world on top); every HTML
answer is written to a temporary directory, then vnu.jar (npm `vnu-jar`) checks them all in one run, one
JVM start. The pages come from tests/test_access_matrix.py: each URL name, with each role whose
expected answer there carries a page (GET 200, 403, 404; POST 200 and 400, a form with its errors
shown), at the access matrix's objects, at the Priority 5 plan's and, for pages that show the chosen
plan, on the next plan too. Also: the register filtered and its htmx answer (a fragment, checked
inside the smallest valid document), a 404 for an unknown address and Django's 400, 500 and CSRF pages.

Without Java or node_modules/vnu-jar the test is skipped with a message, except under CI (CI set),
where it fails.
"""

import datetime
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.views import csrf, defaults

from indicators.models import Measure, SuccessIndicator
from indicators.services import indicator_archive
from messaging.models import Notification
from messaging.reminders import reminders_run_daily
from priorities.models import Action, ActionPartner, Plan, Status
from priorities.services import (
    action_archive,
    plan_publish,
    plan_start_next,
    submission_accept,
    submission_create,
    submission_return,
)
from tests.factories import OrganisationFactory
from tests.test_access_matrix import EXPECTED, ROLES, _url
from tests.test_access_matrix import world as world  # noqa: F401, the access matrix's fixture, used by `site`
from tracker.models import User

VNU_JAR = Path(settings.BASE_DIR) / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# The answers that carry a page; redirects and 405s have none.
PAGE_STATUSES = {"GET": {200, 403, 404}, "POST": {200, 400}}
FRAGMENT_FRAME = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>htmx fragment</title></head>'
    "<body>{}</body></html>"
)


@pytest.fixture(scope="session")
def vnu():
    """The command that runs vnu.jar; a skip (a failure under CI) saying what is missing, before any set-up."""
    java = shutil.which("java")
    missing = []
    if java is None:
        missing.append("Java 11 or newer (apt-get install default-jre-headless)")
    if not VNU_JAR.exists():
        missing.append(f"{VNU_JAR.relative_to(settings.BASE_DIR)} (make install)")
    if missing:
        message = f"The HTML check needs {' and '.join(missing)}."
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # The client compiler alone (C1) starts checking sooner on a busy machine; it needs a deeper stack.
    return [java, "-Xss8m", "-XX:TieredStopAtLevel=1", "-jar", str(VNU_JAR), "--errors-only", "--format", "json"]


@pytest.fixture
def site(plan5, request):
    """The access matrix's users and URL arguments, plus the same pages at the Priority 5 plan's objects.

    Returns (users, kwargs, more): `more` maps a URL name to further URL arguments to check it with.
    """
    call_command("load_demo", force=True, verbosity=0, stdout=open(os.devnull, "w"))
    plan5.refresh_from_db()
    secretariat = User.objects.get(username="secretariat")
    europol = User.objects.get(username="partner-europol")
    actions = {a.code: a for a in Action.objects.filter(objective__priority__plan=plan5).order_by("sort_key")}
    theirs = [a for a in actions.values() if a.partnerships.filter(organisation=europol.organisation).exists()]
    submission_create(action=theirs[0], by=europol, status=Status.AT_RISK, note="Two forces have not replied yet.")
    submission_return(
        submission=submission_create(action=theirs[1], by=europol, status=Status.ON_TRACK, note="Fine."),
        by=secretariat,
        reason="Say which teams were set up.",
    )
    submission_accept(
        submission=submission_create(action=theirs[2], by=europol, status=Status.COMPLETED, note="Done in May."),
        by=secretariat,
    )
    archived = list(actions.values())[-1]
    action_archive(action=archived, by=secretariat)
    indicator_archive(indicator=SuccessIndicator.objects.filter(plan=plan5).order_by("pk").last(), by=secretariat)
    plan_publish(plan=plan5, by=secretariat)
    next_start = plan5.end_date + datetime.timedelta(days=1)
    plan_start_next(
        plan=plan5,
        title="Strategic Plan for International Collaboration, next",
        start_date=next_start,
        end_date=next_start + datetime.timedelta(days=3 * 365),
        actions=list(actions.values())[:5],
        by=secretariat,
    )
    users, kwargs = request.getfixturevalue("world")
    # Organisation A partners Priority 5 actions too (one as lead), so its people see the real plan.
    shown = actions["5.22"]
    ActionPartner.objects.create(action=shown, organisation=users["partner_a"].organisation, role="lead")
    ActionPartner.objects.create(action=actions["5.24"], organisation=users["partner_a"].organisation)
    submission_create(action=actions["5.24"], by=users["partner_a"], status=Status.OFF_TRACK, note="Stalled.")
    # The day's reminders, sent; the reports' notifications as the outbox leaves them: sent, failed, waiting.
    reminders_run_daily(today=timezone.localdate(), send_now=True)
    first, second = Notification.objects.order_by("pk")[:2]
    Notification.objects.filter(pk=first.pk).update(state=Notification.State.SENT, sent_at=timezone.now())
    Notification.objects.filter(pk=second.pk).update(
        state=Notification.State.FAILED, attempts=5, last_error="SMTPServerDisconnected('Connection closed')"
    )
    newcomer = OrganisationFactory(name="Newly added partner", slug="newly-added")
    measure = Measure.objects.filter(indicator__plan=plan5, measurements__isnull=False).first()
    more = {
        "organisation-detail": [{"slug": europol.organisation.slug}, {"slug": newcomer.slug}],
        "organisation-invite": [{"slug": newcomer.slug}],
        "priorities:action-detail": [{"pk": shown.pk}, {"pk": theirs[1].pk}, {"pk": archived.pk}],
        "priorities:action-edit": [{"pk": shown.pk}],
        "priorities:action-archive": [{"pk": shown.pk}],
        "priorities:objective-edit": [{"pk": shown.objective_id}],
        "priorities:plan-edit": [{"pk": plan5.pk}],
        "indicators:indicator-detail": [{"pk": measure.indicator_id}],
        "indicators:measure-update": [{"pk": measure.pk}],
        "public:objective": [{"pk": shown.objective_id}],
        "public:action": [{"pk": shown.pk}],
        "public:indicator": [{"pk": measure.indicator_id}],
    }
    return users, kwargs, more


def _pages(users, kwargs, more):
    """(label, client, method, URL, headers) for every page to check."""
    next_plan = Plan.objects.order_by("-start_date").first()
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        if role != "anonymous":
            clients[role].force_login(users[role])
    refusals = set()
    for name in sorted(EXPECTED):
        for method_index, method in enumerate(("GET", "POST")):
            urls = [_url(name, kwargs)] + [reverse(name, kwargs=extra) for extra in more.get(name, [])]
            if method == "GET" and not kwargs.get(name):
                # A page without arguments shows the chosen plan: the next plan as well as the current one.
                urls.append(f"{urls[0]}?plan={next_plan.slug}")
            for role, status in zip(ROLES, EXPECTED[name][method_index], strict=True):
                if status not in PAGE_STATUSES[method] or (role, status) in refusals:
                    continue
                if status in (403, 404):
                    # The same 403 or 404 page wherever it is refused: checked once for each role.
                    refusals.add((role, status))
                for url in urls:
                    yield f"{method} {url} as {role} ({name})", clients[role], method, url, {}
    register = reverse("priorities:action-list")
    for role in ("partner_a", "secretariat"):
        for query in ("?status=on_track&q=data&sort=-code", "?q=matches-nothing-at-all"):
            url = register + query
            yield f"GET {url} as {role}", clients[role], "GET", url, {}
            yield f"htmx GET {url} as {role}", clients[role], "GET", url, {"HX-Request": "true"}
    for role in ("anonymous", "secretariat"):
        yield f"GET /no-such-page/ as {role}", clients[role], "GET", "/no-such-page/", {}


def _error_pages():
    """Django's own error views with our templates: (label, HTML)."""
    request = RequestFactory().get("/")
    yield "the 400 page", defaults.bad_request(request, Exception()).content.decode()
    yield "the 500 page", defaults.server_error(request).content.decode()
    yield "the CSRF failure page", csrf.csrf_failure(request).content.decode()


def _crawl(pages, folder):
    """Write each distinct HTML answer to `folder` once; returns {file name: [labels of the pages with it]}."""
    files = {}

    def keep(label, html):
        name = f"{hashlib.sha256(html.encode()).hexdigest()[:16]}.html"
        if name not in files:
            (folder / name).write_text(html, encoding="utf-8")
            files[name] = []
        files[name].append(label)

    for label, client, method, url, headers in pages:
        response = client.get(url, headers=headers) if method == "GET" else client.post(url, {}, headers=headers)
        if response.status_code in (301, 302, 405) or not response.get("Content-Type", "").startswith("text/html"):
            continue
        html = response.content.decode()
        if headers.get("HX-Request") and not html.lstrip().lower().startswith("<!doctype"):
            html = FRAGMENT_FRAME.format(html)
        keep(f"{label} → {response.status_code}", html)
    for label, html in _error_pages():
        keep(label, html)
    return files


def _report(errors, files, folder):
    """One line per error: the page (and how many others share its HTML), the line, the message, the markup."""
    lines = []
    for error in sorted(errors, key=lambda e: (files.get(Path(e.get("url", "")).name, [""])[0], e.get("lastLine", 0))):
        labels = files.get(Path(error.get("url", "")).name, [error.get("url", "?")])
        also = f" (and {len(labels) - 1} more with the same HTML)" if len(labels) > 1 else ""
        lines.append(
            f"{labels[0]}{also}, line {error.get('lastLine', '?')}: {error.get('message', '').strip()}\n"
            f"      {(error.get('extract') or '').strip()[:240]!r}"
        )
    return f"{len(errors)} HTML error(s); the pages are kept in {folder}:\n" + "\n".join(lines)


def test_every_page_is_valid_html(vnu, site, tmp_path):
    files = _crawl(_pages(*site), tmp_path)
    labels = [label for page_labels in files.values() for label in page_labels]
    for role in ROLES:
        assert sum(f" as {role} " in label for label in labels) > 20, f"The crawl lost the pages {role} sees"
    assert len(files) > 200, f"Only {len(files)} distinct pages to check: the crawl lost its pages"
    result = subprocess.run(  # noqa: S603, a fixed command over our own files
        [*vnu, *sorted(str(tmp_path / name) for name in files)], capture_output=True, text=True, timeout=600
    )
    try:
        messages = json.loads(result.stderr)["messages"]
    except (ValueError, KeyError):
        pytest.fail(f"vnu.jar gave no report (exit {result.returncode}): {result.stderr[-2000:]}")
    errors = [m for m in messages if m.get("type") in ("error", "non-document-error")]
    assert not errors, _report(errors, files, tmp_path)
