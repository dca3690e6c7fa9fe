"""The progress report that lists every action (issue 22, item 5): times, sizes and queries at two plan sizes.

`python -m bench.progress_report` (BENCH_DB names its throwaway databases' prefix). Prints a table.
For a plan of 500 actions the report lists them all on one page; for a plan of 10,000 it is in parts
of at most 500, by priority. Each size gets a fresh PostgreSQL database (`generate_load_data`, one
plan) and its own gunicorn; the commissioner asks for: today's report (part 1), the report as it stood
90 days ago (history replayed, part 1) and the last part, in rotating order, one request at a time,
against the admin's change list of actions (100 a page) as a yardstick measured in the same rotation.
Queries are counted in-process (bench/inproc.py `report_queries`). Figures are medians over runs of
each run's median; p95 by nearest rank over all samples.
"""

import argparse
import os

from bench import harness
from bench.harness import median, percentile, request, say

PREFIX = os.environ.get("BENCH_DB", "plantracker_bench") + "_report"
SIZES = {
    500: {"actions": 500, "updates": 10_000, "organisations": 50, "users": 100},
    10_000: {"actions": 10_000, "updates": 200_000, "organisations": 300, "users": 1_000},
}


def _pages(facts):
    report = "/reports/progress/"
    pages = {
        "today": (report, "commissioner"),
        "as of 90 days ago": (f"{report}?as_of={facts['ninety_days_ago']}", "commissioner"),
    }
    if facts["parts"] > 1:
        pages["last part"] = (f"{report}?page={facts['parts']}", "commissioner")
    pages["admin"] = ("/admin/priorities/action/", "secretariat")
    return pages


def measure(size, scale, runs, samples):
    """{page: {"median", "p95", "kB", "rows"}}, the query counts and the facts, for a fresh plan of `size` actions."""
    db = f"{PREFIX}_{size}"
    try:
        say(f"  generating one plan of {size:,} actions and {scale['updates']:,} updates into {db} ...")
        seconds = harness.prepare(db, plans=1, **scale)
        say(f"  generated in {seconds:.0f} s")
        facts = harness.inproc(db, "facts")
        counted = harness.inproc(db, "report_queries")
        cookies = harness.sessions(db, [facts["secretariat"], facts["commissioner"]])
        cookies = {role: cookies[facts[role]] for role in ("secretariat", "commissioner")}
        pages = _pages(counted)
        with harness.gunicorn(db) as server:
            sizes = {}
            for name, (path, role) in pages.items():  # warm: connections, templates
                status, body, _, _ = request(server.port, path, cookie=cookies[role])
                if status != 200:
                    raise SystemExit(f"GET {path} as {role} answered {status}")
                sizes[name] = (len(body.encode()), body.count('<tr class="govuk-table__row" id="report-'))
            medians = {name: [] for name in pages}
            every = {name: [] for name in pages}
            names = list(pages)
            for run in range(runs):
                times = {name: [] for name in names}
                for i in range(samples):
                    shift = (i + run) % len(names)
                    for name in names[shift:] + names[:shift]:
                        path, role = pages[name]
                        status, _, elapsed, _ = request(server.port, path, cookie=cookies[role])
                        if status != 200:
                            raise SystemExit(f"GET {path} as {role} answered {status}")
                        times[name].append(elapsed)
                for name in names:
                    medians[name].append(median(times[name]))
                    every[name] += times[name]
    finally:
        harness.drop_database(db)
    results = {
        name: {
            "median": median(medians[name]),
            "p95": percentile(every[name], 0.95),
            "kB": sizes[name][0] / 1e3,
            "rows": sizes[name][1],
        }
        for name in pages
    }
    return results, counted


def _ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def figure(runs=3, samples=10):
    """([(figure, measured, target, met)], [note]) at both sizes."""
    rows, notes = [], []
    counts = {}
    for size, scale in SIZES.items():
        say(f"progress report, a plan of {size:,} actions ...")
        results, counted = measure(size, scale, runs, samples)
        counts[size] = counted
        for name, figures in results.items():
            label = "Admin change list (yardstick)" if name == "admin" else f"Progress report, {name}"
            listed = "" if name == "admin" else f", {figures['rows']:,} actions listed"
            rows.append(
                (
                    f"{label}, plan of {size:,} actions: median / p95",
                    f"{_ms(figures['median'])} / {_ms(figures['p95'])} ({figures['kB']:.0f} kB{listed})",
                    "",
                    None,
                )
            )
        notes.append(f"{size:,} actions: {counted['parts']} part(s); queries {counted['counts']}")
    for page in counts[500]["counts"]:
        small, large = counts[500]["counts"][page], counts[10_000]["counts"][page]
        label = f"SQL queries: progress report, {page} (500 / 10,000 actions)"
        rows.append((label, f"{small} / {large}", "equal", small == large))
    return rows, notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=10, help="Requests of each page per run.")
    args = parser.parse_args()
    machine = harness.machine()
    say(f"Machine: {machine['cores']} cores, {machine['memory']}, {machine['cpu']}; PostgreSQL {machine['postgresql']}")
    rows, notes = figure(runs=args.runs, samples=args.samples)
    say()
    say("| Figure | Measured | Target | Met |")
    say("| --- | --- | --- | --- |")
    for name, measured, target, met in rows:
        say(f"| {name} | {measured} | {target} | {'' if met is None else ('yes' if met else '**no**')} |")
    for note in notes:
        say(f"- {note}")


if __name__ == "__main__":
    main()
