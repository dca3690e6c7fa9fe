"""The register's downloads at 10,000 actions: time against a raw-SQL CSV of the same rows, and worker memory.

Used by bench/run.py (`downloads_figure`). Three pages alternate in rotating order, one request at
a time: /actions/export.csv and /actions/export.xlsx as the secretariat (every action, sorted by
code), and /bench/raw-export.csv (bench/views.py: one hand-written query, csv.writer, no session).
Memory is measured on a separate gunicorn with one worker per format, so nothing else that worker
served hides or adds to the figure: a download that selects no action first (the code is loaded),
then two full downloads while a thread reads the worker's resident memory (VmRSS) every 5 ms.
Growth is the peak over the memory before the first full download; what remains 1 s after each
download is reported too, and a second download must add nothing to it.
"""

import threading
import time
from pathlib import Path

from bench import harness
from bench.harness import median, request, say

PAGES = {
    "raw": "/bench/raw-export.csv",
    "csv": "/actions/export.csv",
    "xlsx": "/actions/export.xlsx",
}
MIB = 1024 * 1024


def _workers(master_pid):
    return [int(pid) for pid in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()]


def _rss(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class _Peak(threading.Thread):
    """The highest VmRSS of each worker while it runs."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.done = pids, dict.fromkeys(pids, 0), threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], _rss(pid))
            time.sleep(0.005)

    def stop(self):
        self.done.set()
        self.join()
        for pid in self.pids:  # one last reading
            self.peak[pid] = max(self.peak[pid], _rss(pid))
        return self.peak


def _get(ctx, path):
    status, body, seconds, headers = request(ctx.server.port, path, cookie=ctx.cookies["secretariat"], timeout=300)
    if status != 200:
        raise SystemExit(f"GET {path} answered {status}")
    return seconds, body, headers


def _memory(ctx, path):
    """(peak growth, growth left after one download, growth left after two) in bytes, on a fresh one-worker gunicorn."""
    cookie = ctx.cookies["secretariat"]
    with harness.gunicorn(ctx.db, workers=1) as server:
        (pid,) = _workers(server.process.pid)
        request(server.port, f"{path}?q=no-such-action-anywhere", cookie=cookie)
        time.sleep(0.5)
        before = _rss(pid)
        sampler = _Peak([pid])
        sampler.start()
        left = []
        for _ in range(2):
            status = request(server.port, path, cookie=cookie, timeout=300)[0]
            if status != 200:
                raise SystemExit(f"GET {path} answered {status}")
            time.sleep(1)
            left.append(_rss(pid) - before)
        peak = sampler.stop()[pid]
        return peak - before, left[0], left[1]


def figure(ctx):
    """[(figure, measured, target, met)] for bench/run.py; notes go to ctx.notes."""
    for _ in range(2):  # warm both workers: imports, connections, the first temporary file
        for path in PAGES.values():
            _get(ctx, path)
    _, raw_body, _ = _get(ctx, PAGES["raw"])
    _, csv_body, headers = _get(ctx, PAGES["csv"])
    rows = csv_body.count("\r\n") - 1
    times = {name: [] for name in PAGES}
    names = list(PAGES)
    repeats = 1 if ctx.quick else 2
    for run in range(ctx.runs * repeats):
        for name in names[run % 3 :] + names[: run % 3]:
            times[name].append(_get(ctx, PAGES[name])[0])
        say(
            f"  downloads run {run + 1}: csv {times['csv'][-1]:.2f} s, xlsx {times['xlsx'][-1]:.2f} s, "
            f"raw SQL csv {times['raw'][-1]:.2f} s"
        )
    csv_peak, csv_once, csv_twice = (value / MIB for value in _memory(ctx, PAGES["csv"]))
    xlsx_peak, xlsx_once, xlsx_twice = (value / MIB for value in _memory(ctx, PAGES["xlsx"]))
    say(
        f"  memory: csv peak +{csv_peak:.1f} MiB, left {csv_once:.1f} then {csv_twice:.1f}; "
        f"xlsx peak +{xlsx_peak:.1f} MiB, left {xlsx_once:.1f} then {xlsx_twice:.1f}"
    )
    csv_ratio = median([c / r for c, r in zip(times["csv"], times["raw"], strict=True)])
    xlsx_ratio = median([x / r for x, r in zip(times["xlsx"], times["raw"], strict=True)])
    left = max(csv_once, xlsx_once)
    added = max(csv_twice - csv_once, xlsx_twice - xlsx_once)
    ctx.notes.append(
        f"Downloads (bench/downloads.py): the register's CSV and Excel downloads of all {rows:,} actions as the "
        f"secretariat, against /bench/raw-export.csv (one hand-written query, partners grouped once with "
        f"string_agg and joined, csv.writer, no session; {len(raw_body.encode()) / 1e6:.2f} MB against the "
        f"download's {len(csv_body.encode()) / 1e6:.2f} MB, which adds the formula guard), {len(times['csv'])} "
        f"rounds in rotating order, one request at a time; ratios per round, then the median. Seconds per round: "
        f"CSV {', '.join(f'{v:.2f}' for v in times['csv'])}; Excel {', '.join(f'{v:.2f}' for v in times['xlsx'])}; "
        f"raw {', '.join(f'{v:.2f}' for v in times['raw'])}. Memory: on a fresh one-worker gunicorn per format, "
        f"after a download that selects nothing, two full downloads; the peak of the worker's VmRSS (read every "
        f"5 ms) over its value before them, and what was left 1 s after each (CSV {csv_once:.1f} then "
        f"{csv_twice:.1f} MiB, Excel {xlsx_once:.1f} then {xlsx_twice:.1f} MiB): what the first leaves is the "
        f"allocator keeping freed memory for reuse, and a second download adds nothing to it. Cache-Control: "
        f"{headers.get('Cache-Control')}."
    )
    return [
        (f"Register CSV download, {rows:,} rows", f"{median(times['csv']):.2f} s", "", None),
        (f"Register Excel download, {rows:,} rows", f"{median(times['xlsx']):.2f} s", "", None),
        ("Raw SQL + csv.writer, same rows", f"{median(times['raw']):.2f} s", "", None),
        ("CSV download / raw SQL CSV", f"{csv_ratio:.2f}x", "<= 1.5x", csv_ratio <= 1.5),
        ("Excel download / raw SQL CSV", f"{xlsx_ratio:.2f}x", "<= 3x", xlsx_ratio <= 3),
        ("Worker memory growth during the CSV download", f"{csv_peak:.1f} MiB", "< 30 MiB", csv_peak < 30),
        ("Worker memory growth during the Excel download", f"{xlsx_peak:.1f} MiB", "< 30 MiB", xlsx_peak < 30),
        ("Worker memory kept after a download (allocator, reused)", f"{left:.1f} MiB", "< 30 MiB", left < 30),
        ("Worker memory added by a second download", f"{added:.1f} MiB", "< 1 MiB", added < 1),
    ]
