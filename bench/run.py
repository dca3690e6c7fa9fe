"""`make bench`: figures for Plan Tracker on PostgreSQL and gunicorn (2 workers), printed and written to RESULTS.md.

Then docs/performance.md is made from RESULTS.md (bench.report), so the documentation never copies a figure.

Every target is a ratio or a comparison measured in the same run, and every figure is the median of
alternating runs. Traffic goes to 127.0.0.1 only; every loop and load run is bounded.

Figures are pluggable: a figure is a function `figure(ctx) -> [Row, ...]` (see `Context` and `Row`).
Add one with `--figure package.module:function`, or by appending it to FIGURES.
"""

import argparse
import dataclasses
import datetime
import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import afresh, harness, report
from bench.harness import median, percentile, request, say

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
# BENCH_DB names the throwaway databases (another run on the same PostgreSQL can use another name).
MAIN_DB = os.environ.get("BENCH_DB", "plantracker_bench")
EMPTY_DB = f"{MAIN_DB}_empty"
SCALE = {"actions": 10_000, "updates": 200_000, "organisations": 300, "users": 1_000}
QUERY_SCALES = {
    "1x": {"actions": 1_000, "updates": 20_000, "organisations": 100, "users": 200},
    "2x": {"actions": 2_000, "updates": 40_000, "organisations": 200, "users": 400},
}


@dataclasses.dataclass
class Row:
    figure: str
    measured: str
    target: str = ""
    met: bool | None = None  # None: a figure without a target
    note: str = ""


@dataclasses.dataclass
class Context:
    """What a figure may use: the server, signed-in cookies per role, and the run's settings."""

    server: harness.Server
    db: str  # the database the server uses
    cookies: dict  # role -> "sessionid=..."
    facts: dict  # from bench.inproc.facts: usernames, an action pk, an organisation slug
    runs: int
    quick: bool
    notes: list = dataclasses.field(default_factory=list)  # free text for RESULTS.md

    def data_changed(self):
        """What committing any change does (tracker/caching.py): the next page is rendered afresh."""
        harness.bump_data_generation(self.db)

    def get(self, path, role):
        status, body, seconds, _ = request(self.server.port, path, cookie=self.cookies[role])
        if status != 200:
            raise SystemExit(f"GET {path} as {role} answered {status}")
        return seconds


def _ms(seconds):
    return f"{seconds * 1000:.0f} ms"


# --- figures ------------------------------------------------------------------------------------


def dashboard_figure(ctx):
    """The commissioner's dashboard, one user at a time, against the same numbers in raw SQL."""
    django_path, raw_path = "/dashboard/", "/bench/raw-dashboard/"
    for _ in range(2):  # warm both workers' caches and connections
        ctx.get(django_path, "commissioner")
        ctx.get(raw_path, "commissioner")
    sizes = [len(request(ctx.server.port, p, cookie=ctx.cookies["commissioner"])[1]) for p in (django_path, raw_path)]
    first = ctx.get(django_path, "commissioner") + ctx.get(raw_path, "commissioner")
    # A fixed budget per run, so a slow page means fewer samples rather than an endless bench.
    budget = 20 if ctx.quick else 60
    pairs = max(3, min(40, int(budget / first)))
    p95s, raw_p95s, ratios = [], [], []
    for run in range(ctx.runs):
        django_times, raw_times = [], []
        for i in range(pairs):
            # Alternate which goes first, so neither always follows the other.
            order = [(django_path, django_times), (raw_path, raw_times)]
            for path, times in order if (i + run) % 2 == 0 else reversed(order):
                times.append(ctx.get(path, "commissioner"))
        p95, raw_p95 = percentile(django_times, 0.95), percentile(raw_times, 0.95)
        p95s.append(p95)
        raw_p95s.append(raw_p95)
        ratios.append(p95 / raw_p95)
        say(f"  dashboard run {run + 1}: p95 {_ms(p95)}, raw SQL p95 {_ms(raw_p95)}, ratio {p95 / raw_p95:.2f}x")
    cold, cold_raw = _after_each_change(ctx, django_path, raw_path, "commissioner", 6 if ctx.quick else 20)
    ctx.notes.append(
        f"Dashboard: {ctx.runs} runs of {pairs} alternating request pairs (Django page, raw-SQL page), one "
        f"at a time; p95 per run by nearest rank, then the median over runs. The page shows the counts per "
        f"status and objective, the 25 most urgent at risk or off track, the 25 oldest overdue, the latest 50 "
        f"status changes and every organisation's engagement: {sizes[0] / 1e6:.2f} MB of HTML (raw SQL page "
        f"{sizes[1] / 1e6:.2f} MB, same rows, no GOV.UK markup). Nothing changes between these requests, so "
        f"the page's body comes from the fragment cache (tracker/caching.py) and the raw-SQL page computes "
        f"everything each time. Per run: p95 {', '.join(_ms(v) for v in p95s)}; raw SQL "
        f"{', '.join(_ms(v) for v in raw_p95s)}. After a change (the data generation bumped before each "
        f"request, as a committed change does, so every request renders afresh): p95 {_ms(cold)} against "
        f"raw SQL {_ms(cold_raw)} in the same alternation."
    )
    p95, ratio = median(p95s), median(ratios)
    return [
        Row(
            f"Dashboard p95, one user ({SCALE['actions']:,} actions / {SCALE['updates']:,} updates)",
            _ms(p95),
            "<= 50 ms",
            p95 <= 0.050,
        ),
        Row("Dashboard in raw SQL, p95 (same numbers, minimal HTML)", _ms(median(raw_p95s))),
        Row("Dashboard p95 / raw SQL p95", f"{ratio:.3g}x", "<= 1.2x", ratio <= 1.2),
        Row("Dashboard p95 right after a change (rendered afresh)", _ms(cold)),
        Row("Dashboard after a change / raw SQL p95", f"{cold / cold_raw:.3g}x"),
    ]


def _after_each_change(ctx, path, raw_path, role, samples):
    """p95 of `path` when every request follows a change (no cached fragment), and of `raw_path` alternated."""
    times, raw_times = [], []
    for i in range(samples):
        order = [(path, times), (raw_path, raw_times)] if raw_path else [(path, times)]
        for page, bucket in order if i % 2 == 0 else reversed(order):
            ctx.data_changed()
            bucket.append(ctx.get(page, f"{role} afresh"))
    return percentile(times, 0.95), (percentile(raw_times, 0.95) if raw_path else None)


def _wrk(ctx, path, role, seconds):
    return harness.wrk(ctx.server.port, path, seconds, cookie=ctx.cookies[role])


def register_figure(ctx):
    """The register under load (wrk), against a no-database page and the admin's change list."""
    pages = {
        "register": ("/actions/", "secretariat"),
        "no-db": ("/bench/no-db/", "secretariat"),
        "admin": ("/admin/priorities/action/", "secretariat"),
    }
    for path, role in pages.values():
        ctx.get(path, role)
    seconds = 4 if ctx.quick else 8
    results = {name: [] for name in pages}
    names = list(pages)
    for run in range(ctx.runs):
        # Rotate the order each run: no page always runs first or last.
        for name in names[run % 3 :] + names[: run % 3]:
            results[name].append(_wrk(ctx, *pages[name], seconds))
        say(
            f"  load run {run + 1}: register {results['register'][-1]:.1f} req/s, no-db {results['no-db'][-1]:.1f}, "
            f"admin {results['admin'][-1]:.1f}"
        )
    vs_nodb = median([r / n for r, n in zip(results["register"], results["no-db"], strict=True)])
    vs_admin = median([r / a for r, a in zip(results["register"], results["admin"], strict=True)])
    cold, _ = _after_each_change(ctx, "/actions/", None, "secretariat", 6 if ctx.quick else 20)
    ctx.notes.append(
        f"Load: wrk, 2 threads, 4 connections, {seconds} s per page, {ctx.runs} runs in rotating order, "
        f"wrk on the same 2 cores as gunicorn and PostgreSQL. The register's filters and table come from "
        f"the fragment cache (nothing changes during a load run); each request still reads the session, "
        f"the user, the data generation and the review count. Register (50 a page, as the secretariat) "
        f"req/s per run: {', '.join(f'{v:.1f}' for v in results['register'])}; no-database page: "
        f"{', '.join(f'{v:.1f}' for v in results['no-db'])}; admin change list (100 a page, as a "
        f"superuser): {', '.join(f'{v:.1f}' for v in results['admin'])}. Ratios are per run, then the median. "
        f"Right after a change (data generation bumped before each request), one user: register p95 {_ms(cold)}."
    )
    return [
        Row("Register under load (wrk)", f"{median(results['register']):.1f} req/s"),
        Row("No-database page under load", f"{median(results['no-db']):.1f} req/s"),
        Row("Admin change list of the same actions", f"{median(results['admin']):.1f} req/s"),
        Row("Register / no-database page", f"{vs_nodb:.3g}x", ">= 0.3x", vs_nodb >= 0.3),
        Row("Register / admin change list", f"{vs_admin:.3g}x", ">= 10x", vs_admin >= 10),
        Row("Register p95 right after a change (rendered afresh), one user", _ms(cold)),
    ]


def query_count_figure(ctx):
    """SQL queries per page at 1x and 2x the data, counted in-process (CaptureQueriesContext)."""
    counts = {}
    try:
        for label, scale in QUERY_SCALES.items():
            name = f"{MAIN_DB}_{label}"
            harness.prepare(name, template=EMPTY_DB, **scale)
            counts[label] = harness.inproc(name, "query_counts")
    finally:
        for label in QUERY_SCALES:
            harness.drop_database(f"{MAIN_DB}_{label}")
    one, two = counts["1x"], counts["2x"]
    ctx.notes.append(
        f"Queries: counted in-process with django.test.utils.CaptureQueriesContext (the test client, a "
        f"request of each page right after a change; for the register and the dashboard, whose bodies are "
        f"cached, also a repeat with nothing changed) on two fresh PostgreSQL databases of {one['actions']:,} and "
        f"{two['actions']:,} actions ({QUERY_SCALES['1x']['updates']:,} and {QUERY_SCALES['2x']['updates']:,} "
        f"updates): a smaller scale than the 10k run, to keep `make bench` short; a constant count does not "
        f"depend on the scale."
    )
    rows = []
    for page, n in one["counts"].items():
        m = two["counts"][page]
        rows.append(Row(f"SQL queries: {page} (1x / 2x data)", f"{n} / {m}", "equal", n == m))
    return rows


def reminders_figure(ctx):
    """bench/reminders.py on PostgreSQL: 10,000 reminders through the sending service next to raw smtplib."""
    name = "plantracker_bench_reminders"
    count = 2_000 if ctx.quick else 10_000
    harness.drop_database(name)
    harness.create_database(name)
    try:
        out = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("reminders.py")),
                "--count",
                str(count),
                "--rounds",
                "1" if ctx.quick else "3",
                "--database-url",
                harness.database_url(name),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=1800,
            env=harness.django_env(name),  # production settings (DEBUG off), as the other figures
        ).stdout
    finally:
        harness.drop_database(name)
    say("  " + out.strip().replace("\n", "\n  "))
    service = float(re.search(r"service \(reminders_send_batch\):\s+[\d.]+ s\s+(\d+) emails/s", out).group(1))
    raw = float(re.search(r"raw smtplib, one connection:\s+[\d.]+ s\s+(\d+) emails/s", out).group(1))
    ratio = float(re.search(r"ratio service/raw: ([\d.]+)", out).group(1))
    ctx.notes.append(
        f"Reminders: bench/reminders.py, {1 if ctx.quick else 3} alternating rounds (median), {count:,} "
        "reminders, one email each (no two share a digest: the worst "
        "case), to an aiosmtpd sink in its own process on 127.0.0.1, against raw smtplib sending the same bytes "
        "over one connection in the same run, on PostgreSQL."
    )
    return [
        Row(f"Reminders sent by the service ({count:,}, PostgreSQL)", f"{service:.0f} emails/s"),
        Row("Raw smtplib, same messages, one connection", f"{raw:.0f} emails/s"),
        Row("Reminders service / raw smtplib", f"{ratio:.2f}x", ">= 0.3x", ratio >= 0.3),
    ]


def plan_import_figure(ctx):
    """bench/plan_import.py on PostgreSQL: previewing a 5,000-row plan file, as CSV and as Excel (issue 16)."""
    name = "plantracker_bench_plan_import"
    harness.create_database(name, template=EMPTY_DB)
    try:
        out = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("plan_import.py")),
                "--rows",
                "5000",
                "--repeat",
                "1" if ctx.quick else "3",
                "--database-url",
                harness.database_url(name),
            ],
            capture_output=True,
            text=True,
            check=False,  # over the target exits 1: the figure still reports it
            timeout=900,
            env=harness.django_env(name),
        ).stdout
    finally:
        harness.drop_database(name)
    say("  " + out.strip().replace("\n", "\n  "))
    worst = float(re.search(r"Slowest median: ([\d.]+) s", out).group(1))
    cpu = max(float(cpu) for cpu in re.findall(r"CPU ([\d.]+) s", out))
    ctx.notes.append(
        "Plan import: bench/plan_import.py, a 5,000-row plan file (half its action codes already in the plan, "
        "so the preview compares changes as well as additions) checked by plan_imports.reading and shown by "
        "the preview page through the test client, as CSV and as Excel (read in its limited child process), "
        f"median of {1 if ctx.quick else 3} runs, on a fresh PostgreSQL database; the slowest of the four is "
        "reported, with its CPU time (the process and the Excel reader's child) beside it."
    )
    return [
        Row("Plan import preview, 5,000 rows (slowest of CSV/Excel, check/page)", f"{worst:.2f} s", "< 5 s", worst < 5),
        Row("Plan import preview, 5,000 rows: most CPU time of the four", f"{cpu:.2f} s"),
    ]


def downloads_figure(ctx):
    """bench/downloads.py: the register's CSV and Excel downloads against a raw-SQL CSV, and worker memory."""
    from bench import downloads

    return [Row(name, measured, target, met) for name, measured, target, met in downloads.figure(ctx)]


def under_edits_figure(ctx):
    """bench/under_edits.py: paced readers with and without a writer every 2 s."""
    from bench import under_edits

    return [Row(name, measured, target, met) for name, measured, target, met in under_edits.figure(ctx)]


def bounded_pages_figure(ctx):
    """bench/bounded.py: partner home and progress report against the admin change list, and at 2x data."""
    from bench import bounded

    rows = bounded.figure(ctx, SCALE, template=EMPTY_DB)
    return [Row(name, measured, target, met) for name, measured, target, met in rows]


def afresh_figure(ctx):
    """bench/afresh.py: the dashboard and the register rendered afresh, at this scale and at 2x the data."""
    return [Row(name, measured, target, met) for name, measured, target, met in afresh.figure(ctx)]


def freshness_figure(ctx):
    """bench/freshness.py: from a commit to a second person's fresh page, and the first load after the bound."""
    from bench import freshness

    return [Row(name, measured, target, met) for name, measured, target, met in freshness.figure(ctx)]


def api_figure(ctx):
    """bench/api.py: the API's actions list 1,000 a page, and its actions feed against a raw-SQL CSV, and memory."""
    from bench import api

    return [Row(name, measured, target, met) for name, measured, target, met in api.figure(ctx)]


def public_figure(ctx):
    """The public plan page against the no-database page under wrk (bench/public_page.py)."""
    from bench.public_page import public_figure as figure

    return figure(ctx)


FIGURES = [
    dashboard_figure,
    register_figure,
    afresh_figure,
    query_count_figure,
    reminders_figure,
    plan_import_figure,
    downloads_figure,
    bounded_pages_figure,
    public_figure,
    under_edits_figure,
    freshness_figure,
    api_figure,
]


# --- the run ------------------------------------------------------------------------------------


def ensure_wrk():
    if shutil.which("wrk"):
        return
    say("wrk is not installed: installing the Debian package")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def load_figure(spec):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def table(rows):
    lines = ["| Figure | Measured | Target | Met |", "| --- | --- | --- | --- |"]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.figure} | {row.measured} | {row.target} | {met} |")
    return "\n".join(lines)


def write_results(rows, machine, started, notes, generated_seconds, argv):
    text = [
        "# Plan Tracker benchmark results",
        "",
        f"Measured {started:%Y-%m-%d %H:%M} UTC by `make bench` (`{' '.join(argv)}`).",
        "",
        f"- Machine: {machine['cores']} cores, {machine['memory']} memory, {machine['cpu']}",
        f"- Python {machine['python']}, PostgreSQL {machine['postgresql']}, gunicorn with 2 sync workers on "
        "127.0.0.1, DEBUG off, the bench URLconf (bench/urls.py) in front of the product's.",
        f"- Data: `generate_load_data` with {SCALE['actions']:,} actions, {SCALE['updates']:,} updates, "
        f"{SCALE['organisations']} organisations and {SCALE['users']:,} users, generated in "
        f"{generated_seconds:.0f} s.",
        "- The machine was shared with other work while measuring: absolute times are noisy, which is why "
        "every target is a ratio within one run.",
        "",
        table(rows),
        "",
        "## How each figure was measured",
        "",
        *[f"- {note}" for note in notes],
        "- The raw-SQL dashboard (bench/views.py) reads the session and the user and checks the role as the page "
        "does, runs the dashboard's counts and lists as hand-written grouped queries (no correlated subquery "
        "per partnership) and formats minimal HTML with f-strings.",
        "",
    ]
    RESULTS.write_text("\n".join(text))


def append_results(rows, machine, started, notes, generated_seconds, argv, load):
    """Add a dated section for a run of some figures (--only) to RESULTS.md, leaving the rest as it is."""
    text = [
        "",
        f"## Partial run, {started:%Y-%m-%d %H:%M} UTC (`{' '.join(argv)}`)",
        "",
        f"- Machine: {machine['cores']} cores, {machine['memory']} memory, {machine['cpu']}; Python "
        f"{machine['python']}, PostgreSQL {machine['postgresql']}; load average {load:.2f} when it started.",
        f"- Data: `generate_load_data` with {SCALE['actions']:,} actions, {SCALE['updates']:,} updates, "
        f"{SCALE['organisations']} organisations and {SCALE['users']:,} users, generated in "
        f"{generated_seconds:.0f} s.",
        "",
        table(rows),
        "",
        *[f"- {note}" for note in notes],
        "",
    ]
    with RESULTS.open("a") as results:
        results.write("\n".join(text))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Alternating runs per figure (median reported).")
    parser.add_argument("--quick", action="store_true", help="Shorter runs and smaller data, for development.")
    parser.add_argument("--figure", action="append", default=[], help="An extra figure, package.module:function.")
    parser.add_argument("--only", action="append", default=[], help="Only the named figure functions.")
    args = parser.parse_args(argv)
    figures = [*FIGURES, *(load_figure(spec) for spec in args.figure)]
    if args.only:
        figures = [f for f in figures if f.__name__ in args.only]
    if args.quick:
        SCALE.update(actions=1_000, updates=20_000, organisations=100, users=200)
    started = datetime.datetime.now(datetime.UTC)
    load = os.getloadavg()[0]
    ensure_wrk()
    machine = harness.machine()
    say(f"Machine: {machine['cores']} cores, {machine['memory']}, {machine['cpu']}")
    rows, notes = [], []
    try:
        say(f"Creating {EMPTY_DB} (migrated, empty) ...")
        harness.create_database(EMPTY_DB)
        harness.manage(EMPTY_DB, "migrate", "--no-input", "-v0")
        say(f"Generating {SCALE['actions']:,} actions and {SCALE['updates']:,} updates into {MAIN_DB} ...")
        generated = harness.prepare(MAIN_DB, template=EMPTY_DB, **SCALE)
        say(f"  generated in {generated:.0f} s")
        rows.append(
            Row(
                f"generate_load_data, {SCALE['actions']:,} actions / {SCALE['updates']:,} updates",
                f"{generated:.0f} s",
                "< 120 s",
                generated < 120,
            )
        )
        facts = harness.inproc(MAIN_DB, "facts")
        cookies = harness.sessions(MAIN_DB, [facts["secretariat"], facts["commissioner"]])
        cookies = {"secretariat": cookies[facts["secretariat"]], "commissioner": cookies[facts["commissioner"]]}
        # Sessions that are never shown a previous fragment: what "right after a change" means (bench/afresh.py).
        cookies.update({f"{role} afresh": cookie for role, cookie in afresh.fresh_cookies(MAIN_DB, facts).items()})
        with harness.gunicorn(MAIN_DB) as server:
            ctx = Context(server=server, db=MAIN_DB, cookies=cookies, facts=facts, runs=args.runs, quick=args.quick)
            for figure in figures:
                say(f"{figure.__name__} ...")
                rows += figure(ctx)
            notes = ctx.notes
    finally:
        for name in (MAIN_DB, EMPTY_DB):
            harness.drop_database(name)
    command = ["python", "-m", "bench.run", *(sys.argv[1:] if argv is None else argv)]
    if args.only:
        # Some figures only: a dated section after the whole run's table, which stays as it was measured.
        append_results(rows, machine, started, notes, generated, command, load)
    else:
        write_results(rows, machine, started, notes, generated, command)
    say()
    say(table(rows))
    say(f"\nWritten to {RESULTS.relative_to(harness.ROOT)} ({time.strftime('%H:%M:%S')}).")
    try:
        report.main([])
    except report.MissingFigures as missing:
        # A partial run (--only) has only some figures: the page keeps the last whole run's.
        say(f"docs/performance.md was not rewritten: {missing}")


if __name__ == "__main__":
    main()
