"""The public plan page under load (wrk, no cookie: public traffic), against the no-database page in the same run.

Run alone: `python -m bench.run --only public_figure` (it is in bench.run.FIGURES).
"""

import psycopg2

from bench import harness
from bench.harness import median, request, say

PAGES = {"public": "/public/", "no-db": "/bench/no-db/"}


def _publish(db_name):
    """Publish every plan, as the secretariat's Publish does, and move the data generation."""
    conn = psycopg2.connect(dbname=db_name, **harness.PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("UPDATE priorities_plan SET published_at = now() WHERE published_at IS NULL")
    finally:
        conn.close()
    harness.bump_data_generation(db_name)


def public_figure(ctx):
    """Public plan page req/s / no-database page req/s, per back-to-back pair, then the median."""
    from bench.run import Row

    _publish(ctx.db)
    port = ctx.server.port
    for _ in range(4):  # each gunicorn worker renders and caches the page once
        for path in PAGES.values():
            status, body, _, headers = request(port, path)
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
    status, body, _, headers = request(port, PAGES["public"])
    if not headers.get("Cache-Control", "").startswith("public") or headers.get("Set-Cookie"):
        raise SystemExit(f"/public/ is not a shareable response: {dict(headers)}")
    # Many short back-to-back pairs rather than a few long runs: on a shared machine the background load
    # changes from second to second, and a pair measured seconds apart shares more of it.
    seconds = 2
    pairs = ctx.runs * (3 if ctx.quick else 6)
    results = {name: [] for name in PAGES}
    names = list(PAGES)
    for pair in range(pairs):
        for name in names[pair % 2 :] + names[: pair % 2]:
            results[name].append(harness.wrk(port, PAGES[name], seconds))
        say(f"  public pair {pair + 1}: public {results['public'][-1]:.1f} req/s, no-db {results['no-db'][-1]:.1f}")
    ratio = median([p / n for p, n in zip(results["public"], results["no-db"], strict=True)])
    ctx.notes.append(
        f"Public pages: wrk, 2 threads, 4 connections, no cookie (public traffic), {seconds} s per page, "
        f"{pairs} back-to-back pairs alternating which page goes first, on the same 2 cores as gunicorn and "
        f"PostgreSQL. "
        f"/public/ ({len(body) / 1e3:.0f} kB: every published plan's priorities and objectives with their "
        f"status counts, and the indicators) is served whole from the fragment cache, with no session and "
        f"no query (each process re-reads the data generation at most once a second). Public req/s per pair: "
        f"{', '.join(f'{v:.1f}' for v in results['public'])}; no-database page: "
        f"{', '.join(f'{v:.1f}' for v in results['no-db'])}. Ratios per pair, then the median."
    )
    return [
        Row("Public plan page under load (wrk, anonymous)", f"{median(results['public']):.1f} req/s"),
        Row("No-database page under load (wrk, anonymous)", f"{median(results['no-db']):.1f} req/s"),
        Row("Public plan page / no-database page", f"{ratio:.3g}x", ">= 0.8x", ratio >= 0.8),
    ]
