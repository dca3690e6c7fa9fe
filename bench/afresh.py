"""The dashboard and the register rendered afresh, at the bench's scale and at 2x the data (issue 18, target 2).

Used by bench/run.py (`afresh_figure`). "Afresh" is what the person who just made a change sees: the
data generation is bumped before each request (as a committed change does), and the request carries a
session that may not be shown any fragment older than its own write (tracker/caching.py's
read-your-writes rule), so the page body is rendered there and then, not answered with the previous
fragment. Everyone else would get the previous fragment meanwhile; this is the worst case.

- Dashboard: its p50 against the raw-SQL dashboard (bench/views.py: the same numbers, reading the
  session and the user as the page does), alternated one request at a time. The target's floor reads
  the same stored counts as the page; a second floor counts from the rows themselves in grouped
  queries (`?rows=1`), for comparison.
- Register: its first page (as the secretariat) against the Django admin's change list of actions
  (100 a page, as a superuser, never cached), alternated.
- At 2x: a second database with twice the actions and updates (the same organisations and people),
  its own gunicorn, the same measurement; growth is the 2x dashboard p50 over the 1x one.
"""

from bench import harness
from bench.harness import median, say


def _ms(seconds):
    return f"{seconds * 1000:.0f} ms"


def _alternate(port, pages, samples, bump):
    """{name: [seconds, ...]} for `pages` {name: (path, cookie, bump first)}, alternated request by request."""
    times = {name: [] for name in pages}
    names = list(pages)
    for i in range(samples):
        for name in names if i % 2 == 0 else reversed(names):
            path, cookie, changed = pages[name]
            if changed:
                bump()
            status, _, seconds, _ = harness.request(port, path, cookie=cookie)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
            times[name].append(seconds)
    return times


def measure(port, db, cookies, samples):
    """p50s of the dashboard afresh, its raw-SQL floor, the register afresh and the admin change list."""

    def bump():
        harness.bump_data_generation(db)

    # Warm both workers (connections, templates, the register's filter form in each process's cache).
    for _ in range(4):
        for path, role in (("/dashboard/", "commissioner"), ("/bench/raw-dashboard/", "commissioner")):
            harness.request(port, path, cookie=cookies[role])
        for path in ("/actions/", "/admin/priorities/action/"):
            harness.request(port, path, cookie=cookies["secretariat"])
    dashboard = _alternate(
        port,
        {
            "dashboard": ("/dashboard/", cookies["commissioner"], True),
            "raw": ("/bench/raw-dashboard/", cookies["commissioner"], False),
            "raw rows": ("/bench/raw-dashboard/?rows=1", cookies["commissioner"], False),
        },
        samples,
        bump,
    )
    register = _alternate(
        port,
        {
            "register": ("/actions/", cookies["secretariat"], True),
            "admin": ("/admin/priorities/action/", cookies["secretariat"], False),
        },
        samples,
        bump,
    )
    return {name: median(values) for name, values in {**dashboard, **register}.items()}


def fresh_cookies(db, facts):
    """Signed-in cookies whose sessions are never shown a previous fragment (as after their own write)."""
    users = [facts["secretariat"], facts["commissioner"]]
    cookies = harness.inproc(db, "sessions", usernames=users, fresh=True)
    return {"secretariat": cookies[facts["secretariat"]], "commissioner": cookies[facts["commissioner"]]}


def figure(ctx):
    from bench.run import EMPTY_DB, SCALE

    samples = 8 if ctx.quick else 20
    one = measure(ctx.server.port, ctx.db, fresh_cookies(ctx.db, ctx.facts), samples)
    say("  1x: " + ", ".join(f"{name} {_ms(value)}" for name, value in one.items()))
    double = {**SCALE, "actions": SCALE["actions"] * 2, "updates": SCALE["updates"] * 2}
    name = f"{ctx.db}_afresh_2x"
    try:
        say(f"  generating {double['actions']:,} actions and {double['updates']:,} updates into {name} ...")
        harness.prepare(name, template=EMPTY_DB, **double)
        facts = harness.inproc(name, "facts")
        with harness.gunicorn(name) as server:
            two = measure(server.port, name, fresh_cookies(name, facts), samples)
    finally:
        harness.drop_database(name)
    say("  2x: " + ", ".join(f"{name} {_ms(value)}" for name, value in two.items()))
    ratio_one, ratio_two = one["dashboard"] / one["raw"], two["dashboard"] / two["raw"]
    growth, raw_growth = two["dashboard"] / one["dashboard"], two["raw"] / one["raw"]
    register_one, register_two = one["admin"] / one["register"], two["admin"] / two["register"]
    ctx.notes.append(
        f"Afresh (bench/afresh.py): {samples} alternating pairs per page, one request at a time, the data "
        f"generation bumped before each request of the product's page and its session barred from previous "
        f"fragments (as the person who made the change), p50. At {SCALE['actions']:,} actions: dashboard "
        f"{_ms(one['dashboard'])}, raw SQL {_ms(one['raw'])} (counting from the rows: {_ms(one['raw rows'])}); "
        f"register {_ms(one['register'])}, admin change "
        f"list {_ms(one['admin'])}. At {double['actions']:,} actions / {double['updates']:,} updates (same "
        f"{SCALE['organisations']} organisations and {SCALE['users']:,} people): dashboard {_ms(two['dashboard'])}, "
        f"raw SQL {_ms(two['raw'])} (the floor grew {raw_growth:.2f}x; counting from the rows: "
        f"{_ms(two['raw rows'])}); register {_ms(two['register'])}, admin "
        f"{_ms(two['admin'])}."
    )
    return [
        ("Dashboard rendered afresh, p50 / raw SQL p50 (1x)", f"{ratio_one:.2f}x", "<= 1.2x", ratio_one <= 1.2),
        ("Dashboard rendered afresh, p50 / raw SQL p50 (2x data)", f"{ratio_two:.2f}x", "<= 1.2x", ratio_two <= 1.2),
        ("Dashboard rendered afresh at 2x data / at 1x", f"{growth:.2f}x", "<= 1.2x", growth <= 1.2),
        (
            "Dashboard rendered afresh / raw SQL counting from the rows (1x; 2x)",
            f"{one['dashboard'] / one['raw rows']:.2f}x; {two['dashboard'] / two['raw rows']:.2f}x",
            "",
            None,
        ),
        (
            "Register rendered afresh / admin change list, speed (1x)",
            f"{register_one:.2f}x",
            ">= 1x",
            register_one >= 1,
        ),
        (
            "Register rendered afresh / admin change list, speed (2x data)",
            f"{register_two:.2f}x",
            ">= 1x",
            register_two >= 1,
        ),
    ]
