"""The API at 10,000 actions: the actions list 1,000 a page, and the actions feed against a raw-SQL csv.writer.

Used by bench/run.py (`api_figure`). Tokens are made in-process (`python -m bench.inproc api_tokens`)
for the secretariat (every action) and the busiest partner. Measured one request at a time:

- the actions list as the secretariat, `page_size=1000`: each of the 10 pages followed by its `next`
  link, a full walk per run (median of the runs' per-page times and of the walks);
- the actions feed (/api/v1/feeds/actions.csv, streamed through the token, throttle and visibility)
  against /bench/raw-feed.csv (bench/views.py: one hand-written query for the same columns and rows,
  csv.writer, no token, no formula guard, built in memory), in rotating order; the ratio per round,
  then the median;
- worker memory: a fresh one-worker gunicorn, a feed that selects little first (the code loaded), then
  two full feeds each of CSV and JSON while a thread reads the worker's VmRSS every 5 ms (as
  bench/downloads.py does for the register's downloads).
"""

import json
import time

from bench import harness
from bench.downloads import MIB, _Peak, _rss, _workers
from bench.harness import median, request, say

FEED = "/api/v1/feeds/actions.csv"
RAW = "/bench/raw-feed.csv"


def _get(port, path, secret=None, timeout=300):
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    status, body, seconds, response_headers = request(port, path, headers=headers, timeout=timeout)
    if status != 200:
        raise SystemExit(f"GET {path} answered {status}: {body[:300]}")
    return seconds, body, response_headers


def _walk(port, secret):
    """Every page of the actions list, 1,000 a page, following `next`: ([seconds per page], items)."""
    path, times, items = "/api/v1/actions/?page_size=1000", [], 0
    while path:
        seconds, body, _ = _get(port, path, secret)
        page = json.loads(body)
        times.append(seconds)
        items += len(page["results"])
        path = page["next"].split(f":{port}", 1)[1] if page["next"] else None
    return times, items


def _memory(ctx, secret):
    """{format: (peak growth, left after one, left after two)} in bytes, on a fresh one-worker gunicorn."""
    figures = {}
    with harness.gunicorn(ctx.db, workers=1) as server:
        (pid,) = _workers(server.process.pid)
        for fmt in ("csv", "json"):
            _get(server.port, "/api/v1/feeds/organisations.json", secret)  # the code and a connection, loaded
            time.sleep(0.5)
            before = _rss(pid)
            sampler = _Peak([pid])
            sampler.start()
            left = []
            for _ in range(2):
                _get(server.port, f"/api/v1/feeds/actions.{fmt}", secret)
                time.sleep(1)
                left.append(_rss(pid) - before)
            figures[fmt] = (sampler.stop()[pid] - before, left[0], left[1])
    return figures


def figure(ctx):
    """[(figure, measured, target, met)] for bench/run.py; notes go to ctx.notes."""
    tokens = harness.inproc(ctx.db, "api_tokens", partner=ctx.facts["partner"], secretariat=ctx.facts["secretariat"])
    secret, partner_secret = tokens["secretariat"], tokens["partner"]
    port = ctx.server.port
    for _ in range(2):  # warm both workers
        _walk(port, secret)
        _get(port, FEED, secret)
        _get(port, RAW)
    page_times, walks = [], []
    for run in range(ctx.runs):
        times, items = _walk(port, secret)
        page_times += times
        walks.append(sum(times))
        say(f"  actions list run {run + 1}: {len(times)} pages of 1,000, {sum(times):.2f} s, {items:,} actions")
    partner_times, partner_items = _walk(port, partner_secret)
    _, feed_body, headers = _get(port, FEED, secret)
    _, raw_body, _ = _get(port, RAW)
    rows = feed_body.count("\r\n") - 1
    times = {"feed": [], "raw": []}
    for run in range(ctx.runs * (1 if ctx.quick else 2)):
        for name in ["feed", "raw"] if run % 2 == 0 else ["raw", "feed"]:
            times[name].append(_get(port, FEED, secret)[0] if name == "feed" else _get(port, RAW)[0])
        say(f"  feed run {run + 1}: feed {times['feed'][-1]:.2f} s, raw SQL csv {times['raw'][-1]:.2f} s")
    ratio = median([f / r for f, r in zip(times["feed"], times["raw"], strict=True)])
    memory = _memory(ctx, secret)
    csv_peak, csv_once, csv_twice = (value / MIB for value in memory["csv"])
    json_peak, json_once, json_twice = (value / MIB for value in memory["json"])
    say(
        f"  memory: csv peak +{csv_peak:.1f} MiB, left {csv_once:.1f} then {csv_twice:.1f}; "
        f"json peak +{json_peak:.1f} MiB, left {json_once:.1f} then {json_twice:.1f}"
    )
    added = max(csv_twice - csv_once, json_twice - json_once)
    ctx.notes.append(
        f"API (bench/api.py): the actions list as the secretariat, page_size=1000, {len(walks)} full walks of "
        f"{len(page_times) // len(walks)} pages following `next` (per page: median {median(page_times):.3f} s, "
        f"slowest {max(page_times):.3f} s; walks {', '.join(f'{w:.2f}' for w in walks)} s); the busiest partner's "
        f"{partner_items:,} actions in {sum(partner_times):.2f} s. The actions feed ({rows:,} rows, "
        f"{len(feed_body.encode()) / 1e6:.2f} MB) against /bench/raw-feed.csv (same columns and rows, one "
        f"hand-written query, csv.writer, no token, no formula guard, built in memory; "
        f"{len(raw_body.encode()) / 1e6:.2f} MB), {len(times['feed'])} rounds in alternating order, ratios per "
        f"round then the median. Seconds per round: feed {', '.join(f'{v:.2f}' for v in times['feed'])}; raw "
        f"{', '.join(f'{v:.2f}' for v in times['raw'])}. Memory: a fresh one-worker gunicorn, two full feeds per "
        f"format after a small one; peak VmRSS over the value before them (CSV left {csv_once:.1f} then "
        f"{csv_twice:.1f} MiB, JSON {json_once:.1f} then {json_twice:.1f} MiB). Cache-Control: "
        f"{headers.get('Cache-Control')}."
    )
    return [
        ("API actions list, a page of 1,000 (median)", f"{median(page_times):.3f} s", "", None),
        (f"API actions list, all {ctx.facts['actions']:,} in pages of 1,000", f"{median(walks):.2f} s", "", None),
        (f"API actions feed (CSV), {rows:,} rows", f"{median(times['feed']):.2f} s", "", None),
        ("Raw SQL + csv.writer, same rows", f"{median(times['raw']):.2f} s", "", None),
        ("API feed / raw SQL CSV", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5),
        ("Worker memory growth during the feed (CSV)", f"{csv_peak:.1f} MiB", "< 30 MiB", csv_peak < 30),
        ("Worker memory growth during the feed (JSON)", f"{json_peak:.1f} MiB", "< 30 MiB", json_peak < 30),
        ("Worker memory added by a second feed", f"{added:.1f} MiB", "< 1 MiB", added < 1),
    ]


def tokens(partner, secretariat):
    """In-process (bench.inproc): a read token for each, {role: secret}."""
    from api.services import token_create
    from tracker.models import User

    made = {}
    for role, username in (("partner", partner), ("secretariat", secretariat)):
        _, made[role] = token_create(
            user=User.objects.get(username=username), name="bench", scope="read", days=1, verified=True, client="bench"
        )
    return made
