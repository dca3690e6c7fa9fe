"""Drill: PostgreSQL is stopped and started again while gunicorn serves a steady load.

Proves: while the database is away every request fails cleanly (503 "temporarily unavailable", no
500, no stack trace), and the same gunicorn processes serve 200s again once it is back.

It stops and starts a PostgreSQL server of the drill's own (bench/pg_cluster.py, made by bench.drills),
never the machine's shared one, and always starts it again at the end, whatever happens.
"""

import collections
import threading
import time

from bench.harness import request, say

DOWN_SECONDS = 3
THREADS = 4


def _stop_and_start(cluster):
    """PostgreSQL stopped, kept down for DOWN_SECONDS, started again."""
    try:
        result = cluster.pg_ctl("stop", check=False)
        say(f"  {time.strftime('%H:%M:%S')} PostgreSQL stopped ({result.returncode}); down for {DOWN_SECONDS} s")
        time.sleep(DOWN_SECONDS)
    finally:
        cluster.ensure_running()


def _restart(cluster):
    """pg_ctl restart: every connection is cut, the server is back in a second or two."""
    try:
        result = cluster.pg_ctl("restart", check=False)
        say(f"  {time.strftime('%H:%M:%S')} PostgreSQL restarted ({result.returncode})")
    finally:
        cluster.ensure_running()


def _under_load(server, cookie, paths, disrupt):
    """Run `disrupt` while THREADS clients request `paths`; returns the log and when it began and ended."""
    log = []  # (time, status, clean)
    stop = threading.Event()

    def client(index):
        n = index
        while not stop.is_set():
            path = paths[n % len(paths)]
            n += 1
            try:
                status, body, _, _ = request(server.port, path, cookie=cookie, timeout=30)
                clean = status == 200 or (
                    status == 503 and "temporarily unavailable" in body and "Traceback" not in body
                )
            except OSError as error:
                status, clean = f"no answer ({type(error).__name__})", False
            log.append((time.monotonic(), status, clean))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)
        down_at = time.monotonic()
        disrupt()
        up_at = time.monotonic()
        say(f"  {time.strftime('%H:%M:%S')} PostgreSQL answers again")
        # Keep the load on until 20 consecutive answers after it came back are 200 (at most 30 s).
        deadline = up_at + 30
        while time.monotonic() < deadline:
            recent = log[-20:]
            if len(recent) == 20 and all(s == 200 for _, s, _ in recent) and recent[0][0] > up_at:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
    return log, down_at, up_at


def _check(label, server, master_pid, log, down_at, up_at, *, outage_expected):
    before = [e for e in log if e[0] < down_at]
    during = [e for e in log if down_at <= e[0] < up_at]
    after = [e for e in log if e[0] >= up_at]
    first_ok = next((t for t, s, _ in after if s == 200), None)
    unclean = collections.Counter(str(s) for _, s, clean in log if not clean)
    say(f"  before: {dict(collections.Counter(s for _, s, _ in before))}")
    say(f"  while it was down: {dict(collections.Counter(s for _, s, _ in during))}")
    say(f"  after: {dict(collections.Counter(s for _, s, _ in after))}")
    same_server = server.process.poll() is None and server.process.pid == master_pid
    recovered = len(after) >= 20 and all(s == 200 for _, s, _ in after[-20:])
    refused = sum(1 for _, s, _ in log if s == 503)
    if unclean or not recovered or not same_server or (outage_expected and not refused):
        say(
            f"FAILED ({label}): unclean answers {dict(unclean)}; recovered {recovered}; same gunicorn "
            f"{same_server}; 503s {refused}"
        )
        return False
    say(
        f"PROVED ({label}): {refused} requests got a clean 503 'temporarily unavailable' page, none a 500 or "
        f"a stack trace; the same gunicorn (master pid {master_pid}) answered 200 again "
        f"{first_ok - up_at:.1f} s after PostgreSQL was back, and every one of the last 20."
    )
    return True


def run(db, server, cookie, paths, cluster):
    say(
        f"Drill: the database restarted under load (gunicorn, 2 workers, {THREADS} clients; "
        f"the drill's own PostgreSQL, port {cluster.port})"
    )
    master_pid = server.process.pid
    ok = True
    for label, disrupt, outage_expected in [
        (f"stopped for {DOWN_SECONDS} s, then started", _stop_and_start, True),
        ("restarted with pg_ctl restart", _restart, False),
    ]:
        say(f" PostgreSQL {label}:")
        log, down_at, up_at = _under_load(server, cookie, paths, lambda disrupt=disrupt: disrupt(cluster))
        ok = _check(label, server, master_pid, log, down_at, up_at, outage_expected=outage_expected) and ok
    return ok
