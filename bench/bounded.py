"""Bounded pages (issue 18 target 4): the partner home and the progress report against the admin change list.

Used by bench/run.py (`bounded_pages_figure`). Three pages alternate in rotating order, one request
at a time, each right after a change (the data generation bumped, as a committed change does, so
nothing comes from the fragment cache): the partner home of the busiest organisation (as one of its
partners), the progress report (as the commissioner) and the admin's change list of actions (100 a
page, as a superuser). Figures are medians: per run, each page's median time over the admin's, then
the median over runs. The same is measured on a second database with twice the data (actions,
updates, organisations and users), on its own gunicorn: growth is the page's median at 2x over 1x.
"""

from bench import harness
from bench.harness import median, request, say

PAGES = {
    "partner home": ("/", "partner"),
    "progress report": ("/reports/progress/", "commissioner"),
    "admin": ("/admin/priorities/action/", "secretariat"),
}
DOUBLE_DB = "plantracker_bench_bounded_2x"


def _cookies(db, facts):
    cookies = harness.sessions(db, [facts["secretariat"], facts["commissioner"], facts["partner"]])
    return {role: cookies[facts[role]] for role in ("secretariat", "commissioner", "partner")}


def _measure(db, port, cookies, runs, samples):
    """{page: [median seconds per run]} and {page: HTML bytes}, every request rendered afresh."""
    names = list(PAGES)
    sizes, times = {}, {name: [] for name in names}
    for name, (path, role) in PAGES.items():  # warm: connections, templates, content types
        status, body, _, _ = request(port, path, cookie=cookies[role])
        if status != 200:
            raise SystemExit(f"GET {path} as {role} answered {status}")
        sizes[name] = len(body.encode())
    for run in range(runs):
        samples_by_page = {name: [] for name in names}
        for i in range(samples):
            # Rotate the order: no page always follows the same one.
            shift = (i + run) % len(names)
            for name in names[shift:] + names[:shift]:
                path, role = PAGES[name]
                harness.bump_data_generation(db)
                status, _, seconds, _ = request(port, path, cookie=cookies[role])
                if status != 200:
                    raise SystemExit(f"GET {path} as {role} answered {status}")
                samples_by_page[name].append(seconds)
        for name in names:
            times[name].append(median(samples_by_page[name]))
    return times, sizes


def _ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def figure(ctx, scale, template=None):
    """[(figure, measured, target, met)] for the partner home and the progress report.

    `scale` is the run's data (generate_load_data's options); `template`, a migrated empty database.
    """
    samples = 5 if ctx.quick else 15
    cookies = {**ctx.cookies, **_cookies(ctx.db, ctx.facts)}
    one, one_sizes = _measure(ctx.db, ctx.server.port, cookies, ctx.runs, samples)
    say("  1x: " + ", ".join(f"{name} {_ms(median(t))}" for name, t in one.items()))
    double = {key: value * 2 for key, value in scale.items()}
    try:
        say(f"  generating {double['actions']:,} actions and {double['updates']:,} updates (2x) ...")
        harness.prepare(DOUBLE_DB, template=template, **double)
        facts = harness.inproc(DOUBLE_DB, "facts")
        with harness.gunicorn(DOUBLE_DB) as server:
            two, two_sizes = _measure(DOUBLE_DB, server.port, _cookies(DOUBLE_DB, facts), ctx.runs, samples)
    finally:
        harness.drop_database(DOUBLE_DB)
    say("  2x: " + ", ".join(f"{name} {_ms(median(t))}" for name, t in two.items()))
    rows, notes = [], []
    for name in ("partner home", "progress report"):
        ratio = median([page / admin for page, admin in zip(one[name], one["admin"], strict=True)])
        growth = median(two[name]) / median(one[name])
        rows += [
            (f"{name.capitalize()} rendered afresh, median", _ms(median(one[name])), "", None),
            (f"{name.capitalize()} / admin change list (target <= 5x)", f"{ratio:.3g}x", "<= 5x", ratio <= 5),
            (f"{name.capitalize()}: growth at 2x data (target <= 1.2x)", f"{growth:.3g}x", "<= 1.2x", growth <= 1.2),
        ]
        notes.append(
            f"{name}: {one_sizes[name] / 1e3:.0f} kB of HTML at 1x, {two_sizes[name] / 1e3:.0f} kB at 2x; "
            f"median {_ms(median(one[name]))} at 1x, {_ms(median(two[name]))} at 2x"
        )
    admin_growth = median(two["admin"]) / median(one["admin"])
    rows.append(("Admin change list rendered afresh, median", _ms(median(one["admin"])), "", None))
    ctx.notes.append(
        f"Bounded pages (bench/bounded.py): {ctx.runs} runs of {samples} rotating requests of the partner "
        f"home of the busiest organisation ({ctx.facts['organisation']}), the progress report (the "
        f"current plan's summary and its actions, in parts of 500 beyond 500) and the admin's change list "
        f"of actions, each right after a change (data generation bumped), one at a time; ratios to the "
        f"admin per run, then the median. Then the "
        f"same on a fresh database with twice the data ({double['actions']:,} actions, "
        f"{double['updates']:,} updates) on its own gunicorn. " + "; ".join(notes) + f"; the admin change "
        f"list itself grew {admin_growth:.3g}x at 2x data ({_ms(median(one['admin']))} at 1x)."
    )
    return rows
