"""How soon a change is on a second person's page (issue 22, item 1: bounded staleness, 2 s).

Used by bench/run.py (`freshness_figure`). The secretariat records an update over HTTP (the action's
page, then the POST with its CSRF token, as a browser does), moving one action between "At risk" and
"On track"; the commissioner (another person, the second person) reads the dashboard and the register
filtered on "At risk", on the same gunicorn (2 workers) and PostgreSQL.

- Commit to fresh: after each write, the commissioner polls both pages (one request at a time, 50 ms
  apart) until each shows the change. The time counts from the commit as the product records it (the
  data generation's `changed_at`, stamped by PostgreSQL on this same host, read right after the POST
  answers) to the arrival of the first response that shows it. Every answer to a request made after
  the bound that does not show it is counted: the target is none.
- First load after the bound: after another write, nobody reads until 2.1 s later; then the
  commissioner loads each page once. Its time, next to the same page's time when nothing changed (from
  the cache), says whether the cached speed is kept.
- Each on gunicorn with per-process caches (as `make bench` runs every figure) and, given
  BENCH_CACHE_URL (a Redis database of one's own), with one shared cache as production runs; each with
  the writer's process rendering the pages read recently ahead (the default) and without
  (FRAGMENT_PRERENDER_LIMIT=0: the first request after the bound renders the page itself).
"""

import contextlib
import os
import re
import time
from urllib.parse import urlencode

import psycopg2

from bench import harness
from bench.harness import median, percentile, request, say

PAGES = {"dashboard": "/dashboard/", "register": "/actions/?status=at_risk"}
POLL_EVERY = 0.05
POLL_FOR = 20.0  # seconds: far past the bound, so a slow render is measured, not cut off
STATUSES = ("at_risk", "on_track")


def _cookie_value(headers, name):
    for value in headers.get_all("Set-Cookie") or []:
        match = re.match(rf"{name}=([^;]+)", value)
        if match:
            return match.group(1)
    return None


def _at_risk(page, html):
    """The number of actions "At risk" that `page` shows."""
    if page == "dashboard":
        match = re.search(r'app-headline__count">(\d+)</span> <span class="app-headline__label">At risk<', html)
    else:
        match = re.search(r'role="status">(\d+) action', html)
    if not match:
        raise SystemExit(f"freshness: no count on the {page}")
    return int(match.group(1))


def _read(port, cookie, page):
    status, html, seconds, _ = request(port, PAGES[page], cookie=cookie)
    if status != 200:
        raise SystemExit(f"freshness: GET {PAGES[page]} answered {status}")
    return _at_risk(page, html), seconds


def _commit_time(db, after):
    """(generation, its commit time in epoch seconds by PostgreSQL's clock), once past `after`."""
    conn = psycopg2.connect(dbname=db, **harness.PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT value, extract(epoch FROM changed_at) FROM tracker_datageneration WHERE id = 1")
            value, at = cursor.fetchone()
    finally:
        conn.close()
    if value <= after or at is None:
        raise SystemExit("freshness: the write did not move the data generation")
    return value, float(at)


def _generation(db):
    conn = psycopg2.connect(dbname=db, **harness.PG)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT value FROM tracker_datageneration WHERE id = 1")
            return cursor.fetchone()[0]
    finally:
        conn.close()


class _Writer:
    """The secretariat recording updates on one action, alternating its status, as a browser does."""

    def __init__(self, port, cookie, db, pk):
        self.port, self.cookie, self.db, self.pk, self.writes = port, cookie, db, pk, 0
        self.status = harness.inproc(db, "action_state", pks=[pk])[str(pk)][1]
        self.committed_at = 0.0

    def settle(self, bound):
        """Wait until the last write is past the bound: every page shows it, so `before` is the truth."""
        time.sleep(max(0.0, self.committed_at + bound + 0.1 - time.time()))

    def write_and_time(self):
        """write(), then (+1 or -1, its commit time by PostgreSQL's clock)."""
        generation = _generation(self.db)
        delta = self.write()
        _, self.committed_at = _commit_time(self.db, generation)
        return delta, self.committed_at

    def write(self):
        """Record the next status; -> +1 if the action is now at risk, -1 if it no longer is."""
        status, html, _, headers = request(self.port, f"/actions/{self.pk}/", cookie=self.cookie)
        version = re.search(r'name="version" value="(\d+)"', html)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if status != 200 or not version or not token:
            raise SystemExit(f"freshness: the action page answered {status}")
        new = "on_track" if self.status == "at_risk" else "at_risk"
        csrf = _cookie_value(headers, "csrftoken")
        body = urlencode(
            {
                "csrfmiddlewaretoken": token.group(1),
                "status": new,
                "note": f"Freshness bench {self.writes}",
                "version": version.group(1),
            }
        )
        status, _, _, _ = request(
            self.port,
            f"/actions/{self.pk}/updates/",
            cookie=f"{self.cookie}; csrftoken={csrf}" if csrf else self.cookie,
            method="POST",
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302:
            raise SystemExit(f"freshness: recording an update answered {status}")
        self.writes += 1
        self.status = new
        return 1 if new == "at_risk" else -1


def _until_fresh(port, cookie, db, writer, bound):
    """One write, then both pages polled until fresh: ({page: seconds from the commit}, violations)."""
    writer.settle(bound)
    before = {page: _read(port, cookie, page)[0] for page in PAGES}
    delta, committed_at = writer.write_and_time()
    fresh, violations = {}, 0
    deadline = time.monotonic() + POLL_FOR
    while len(fresh) < len(PAGES) and time.monotonic() < deadline:
        for page in PAGES:
            if page in fresh:
                continue
            asked = time.time()
            count, _ = _read(port, cookie, page)
            arrived = time.time()
            if count == before[page] + delta:
                fresh[page] = arrived - committed_at
            elif asked - committed_at >= bound:
                violations += 1  # asked after the bound, answered without the change
        time.sleep(POLL_EVERY)
    for page in PAGES:
        if page not in fresh:
            say(f"  the {page} never showed the change within {POLL_FOR:.0f} s")
            fresh[page] = float("inf")
    return fresh, violations


def _first_load_after(port, cookie, db, writer, wait):
    """One write, nothing read for `wait` seconds, then one load of each page: {page: (seconds, fresh)}."""
    writer.settle(wait)
    before = {page: _read(port, cookie, page)[0] for page in PAGES}
    delta, committed_at = writer.write_and_time()
    time.sleep(max(0.0, committed_at + wait - time.time()))
    loads = {}
    for page in PAGES:
        count, seconds = _read(port, cookie, page)
        loads[page] = (seconds, count == before[page] + delta)
    return loads


def _cached_times(port, cookie, samples):
    """{page: p50 seconds} with nothing changing: the cached pages."""
    times = {page: [] for page in PAGES}
    for _ in range(samples):
        for page in PAGES:
            times[page].append(_read(port, cookie, page)[1])
    return {page: median(values) for page, values in times.items()}


def _ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def _measure(port, cookies, db, pk, samples, bound):
    """Commit to fresh ({page: [seconds]}, late answers) and first loads after the bound ({page: p50}, stale)."""
    reader = cookies["commissioner"]
    for page in PAGES:  # warm every worker
        for _ in range(4):
            _read(port, reader, page)
    writer = _Writer(port, cookies["secretariat"], db, pk)
    fresh, late = {page: [] for page in PAGES}, 0
    for _ in range(samples):
        times, violations = _until_fresh(port, reader, db, writer, bound)
        late += violations
        for page, seconds in times.items():
            fresh[page].append(seconds)
    loads = [_first_load_after(port, reader, db, writer, bound + 0.1) for _ in range(samples)]
    late += sum(1 for load in loads for _, shown in load.values() if not shown)
    first = {page: median([load[page][0] for load in loads]) for page in PAGES}
    return fresh, first, late


@contextlib.contextmanager
def _server(ctx, cache_url, ahead):
    """ctx.server when it is the configuration asked for, else a gunicorn (2 workers) on the same database."""
    if not cache_url and ahead:
        yield ctx.server
        return
    saved = {name: os.environ.get(name) for name in ("CACHE_URL", "FRAGMENT_PRERENDER_LIMIT")}
    if cache_url:
        os.environ["CACHE_URL"] = cache_url
        _flush(cache_url)
    if not ahead:
        os.environ["FRAGMENT_PRERENDER_LIMIT"] = "0"
    try:
        with harness.gunicorn(ctx.db) as server:
            yield server
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if cache_url:
            _flush(cache_url)


def _flush(cache_url):
    import redis

    redis.Redis.from_url(cache_url).flushdb()


def _spread(values):
    return " / ".join(_ms(f(values)) for f in (median, lambda v: percentile(v, 0.95), max))


def figure(ctx):
    """-> [(name, measured, target, met)] and a note in ctx.notes."""
    bound = float(os.environ.get("FRAGMENT_MAX_STALE_SECONDS", "2"))
    cookies, pk = ctx.cookies, ctx.facts["action"]
    samples = 6 if ctx.quick else 20
    cached = _cached_times(ctx.server.port, cookies["commissioner"], samples)
    # BENCH_CACHE_URL (a Redis database of one's own): also measure with one cache shared by the workers,
    # as a production deployment runs (docker-compose sets CACHE_URL).
    shared = os.environ.get("BENCH_CACHE_URL", "")
    configurations = [("per-process caches", "", True), ("per-process caches", "", False)]
    if shared:
        configurations = [("shared Redis cache", shared, True), ("shared Redis cache", shared, False), *configurations]
    rows, notes, late_total, worst = [], [], 0, 0.0
    for caches, cache_url, ahead in configurations:
        label = f"{caches}, {'rendered ahead' if ahead else 'nothing rendered ahead'}"
        with _server(ctx, cache_url, ahead) as server:
            fresh, first, late = _measure(server.port, cookies, ctx.db, pk, samples, bound)
        late_total += late
        worst = max(worst, *(max(values) for values in fresh.values()))
        say(
            f"  {label}: commit to fresh "
            + "; ".join(f"{page} {_spread(values)}" for page, values in fresh.items())
            + "; first load after the bound "
            + ", ".join(f"{page} {_ms(value)}" for page, value in first.items())
        )
        notes.append(
            f"{label}: commit to fresh, dashboard {', '.join(_ms(v) for v in fresh['dashboard'])}; register "
            f"{', '.join(_ms(v) for v in fresh['register'])}"
        )
        rows += [
            (
                f"Commit to fresh for a second person, dashboard / register: p50 / p95 / max ({label})",
                f"{_spread(fresh['dashboard'])}; {_spread(fresh['register'])}",
                "",
                None,
            ),
            (
                f"First load after the bound, dashboard / register, p50 ({label})",
                f"{_ms(first['dashboard'])} / {_ms(first['register'])}",
                "",
                None,
            ),
        ]
    ctx.notes.append(
        "Freshness (bench/freshness.py): the secretariat records an update (its action page, then the POST with "
        "its CSRF token) moving one action between At risk and On track; the commissioner, a second person, "
        "reads the dashboard and the register filtered on At risk, on gunicorn (2 workers) and PostgreSQL. "
        f"Commit to fresh: {samples} writes; after each the commissioner polls both pages one request at a time, "
        f"{POLL_EVERY * 1000:.0f} ms apart, until each shows the change, timed from the commit as the product "
        "records it (the data generation's changed_at, stamped by PostgreSQL on this host) to the first response "
        f"that shows it. First load after the bound: {samples} more writes; after each nobody reads for "
        f"{bound + 0.1:g} s, then one load of each page (p50). Each configuration on its own gunicorn on the same "
        "database: per-process caches (as `make bench` runs, each worker its own cache) or one Redis cache "
        "(BENCH_CACHE_URL, as production runs), with the writer's process rendering the pages read recently "
        "ahead or not (FRAGMENT_PRERENDER_LIMIT=0). Every answer to a request made after the bound, and every "
        f"first load, is checked for the change: {late_total} lacked it. " + ". ".join(notes) + "."
    )
    return [
        # A page asked for just before the bound may arrive after it, one render later: the target is on
        # what is asked for after the bound.
        ("Commit to fresh for a second person, worst of all", _ms(worst), "", None),
        ("Pages asked for after the bound without the change", str(late_total), "0", late_total == 0),
        (
            "Dashboard / register from the cache, nothing changed, p50",
            f"{_ms(cached['dashboard'])} / {_ms(cached['register'])}",
            "",
            None,
        ),
        *rows,
    ]
