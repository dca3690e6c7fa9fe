"""Readers at a normal pace while one person records an update every 2 s (issue 18, target 1).

Used by bench/run.py (`under_edits_figure`). Eight paced readers, each one request a second
(staggered by 1/8 s), as the commissioner: four read the dashboard, four the register's first page.
In alternate phases of equal length a writer (the secretariat, another person) also opens an action
and records an update on it every 2 s, over HTTP with its CSRF token, as a browser does, then follows
the redirect back to the action (its own next page).
The figure is the readers' p95 with the writer over their p95 without, per pair of phases, then the
median. Every phase is bounded in time; a reader whose request takes longer than a second simply
sends its next one at once.
"""

import re
import threading
import time
from urllib.parse import urlencode

from bench.harness import median, percentile, request, say

READERS = 8
READER_PAGES = ("/dashboard/", "/actions/")
WRITE_EVERY = 2.0
STATUSES = ("at_risk", "on_track")


def _cookie_value(headers, name):
    for value in headers.get_all("Set-Cookie") or []:
        match = re.match(rf"{name}=([^;]+)", value)
        if match:
            return match.group(1)
    return None


class _Reader(threading.Thread):
    def __init__(self, port, cookie, path, offset, stop_at):
        super().__init__(daemon=True)
        self.port, self.cookie, self.path, self.offset, self.stop_at = port, cookie, path, offset, stop_at
        self.times, self.errors = [], []

    def run(self):
        next_at = time.monotonic() + self.offset
        while True:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if time.monotonic() >= self.stop_at:
                return
            status, _, seconds, _ = request(self.port, self.path, cookie=self.cookie)
            if status != 200:
                self.errors.append(status)
            self.times.append(seconds)
            next_at += 1.0


class _Writer(threading.Thread):
    """Opens the action, records an update on what it saw, follows the redirect: every WRITE_EVERY seconds."""

    def __init__(self, port, cookie, pk, stop_at):
        super().__init__(daemon=True)
        self.port, self.cookie, self.pk, self.stop_at = port, cookie, pk, stop_at
        self.writes, self.own_next_page, self.errors = 0, [], []

    def run(self):
        next_at = time.monotonic()
        while time.monotonic() < self.stop_at:
            status, html, _, headers = request(self.port, f"/actions/{self.pk}/", cookie=self.cookie)
            version = re.search(r'name="version" value="(\d+)"', html)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
            if status != 200 or not version or not token:
                self.errors.append(f"action page {status}")
                return
            csrf = _cookie_value(headers, "csrftoken")
            cookie = f"{self.cookie}; csrftoken={csrf}" if csrf else self.cookie
            body = urlencode(
                {
                    "csrfmiddlewaretoken": token.group(1),
                    "status": STATUSES[self.writes % 2],
                    "note": f"Bench update {self.writes}",
                    "version": version.group(1),
                }
            )
            status, _, _, headers = request(
                self.port,
                f"/actions/{self.pk}/updates/",
                cookie=cookie,
                method="POST",
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            if status != 302:
                self.errors.append(f"record update {status}")
                return
            self.writes += 1
            status, _, seconds, _ = request(self.port, headers["Location"], cookie=self.cookie)
            if status != 200:
                self.errors.append(f"page after the update {status}")
                return
            self.own_next_page.append(seconds)
            next_at += WRITE_EVERY
            time.sleep(max(0.0, next_at - time.monotonic()))


def _phase(ctx, seconds, *, writer):
    stop_at = time.monotonic() + seconds
    readers = [
        _Reader(ctx.server.port, ctx.cookies["commissioner"], READER_PAGES[i % 2], i / READERS, stop_at)
        for i in range(READERS)
    ]
    threads = [*readers]
    if writer:
        writing = _Writer(ctx.server.port, ctx.cookies["secretariat"], ctx.facts["action"], stop_at)
        threads.append(writing)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 180)
    errors = [e for r in readers for e in r.errors] + (writing.errors if writer else [])
    if errors:
        raise SystemExit(f"under edits: requests failed: {errors[:5]}")
    times = [t for r in readers for t in r.times]
    return times, (writing if writer else None)


def figure(ctx):
    """-> [(name, measured, target, met)] and a note in ctx.notes."""
    for path in READER_PAGES:  # warm both workers' caches and connections
        for _ in range(6):
            ctx.get(path, "commissioner")
    seconds = 12 if ctx.quick else 30
    quiet_p95s, edited_p95s, ratios, writes, own = [], [], [], 0, []
    for run in range(ctx.runs):
        # Alternate which phase goes first, so neither always follows the other.
        phases = {}
        for writer in (False, True) if run % 2 == 0 else (True, False):
            phases[writer] = _phase(ctx, seconds, writer=writer)
        quiet, edited = percentile(phases[False][0], 0.95), percentile(phases[True][0], 0.95)
        writing = phases[True][1]
        writes += writing.writes
        own += writing.own_next_page
        quiet_p95s.append(quiet)
        edited_p95s.append(edited)
        ratios.append(edited / quiet)
        say(
            f"  under edits run {run + 1}: readers p95 {edited * 1000:.0f} ms with the writer "
            f"({writing.writes} writes), {quiet * 1000:.0f} ms without, ratio {edited / quiet:.2f}x"
        )
    ratio = median(ratios)
    ctx.notes.append(
        f"Under edits: {READERS} readers (the commissioner; half the dashboard, half the register's first "
        f"page), each one request a second, staggered; in alternate {seconds} s phases a writer (the "
        f"secretariat) also opens an action, records an update on it (POST with its CSRF token) and follows "
        f"the redirect back to the action, every {WRITE_EVERY:.0f} s ({writes} writes in all). "
        f"{ctx.runs} pairs of phases, the "
        f"order alternating; readers' p95 by nearest rank per phase, the ratio per pair, then the median. "
        f"Readers' p95 with the writer per run: {', '.join(f'{v * 1000:.0f} ms' for v in edited_p95s)}; "
        f"without: {', '.join(f'{v * 1000:.0f} ms' for v in quiet_p95s)}. After a change, the writer's "
        f"process renders the pages read recently ahead; within 2 s of the change a reader may get the "
        f"previous fragment meanwhile, after that never (tracker/caching.py). The writer's page "
        f"after each update (the action) p95 {percentile(own, 0.95) * 1000:.0f} ms. "
        f"Measured at the main scale only, not at 2x the data."
    )
    return [
        (
            "Readers p95, 8 at one request/s each, with a writer every 2 s",
            f"{median(edited_p95s) * 1000:.0f} ms",
            "",
            None,
        ),
        ("Readers p95, same readers, no writer", f"{median(quiet_p95s) * 1000:.0f} ms", "", None),
        ("Readers p95 with the writer / without", f"{ratio:.3g}x", "<= 2x", ratio <= 2),
        ("Writer's page after each update (the action) p95", f"{percentile(own, 0.95) * 1000:.0f} ms", "", None),
    ]
