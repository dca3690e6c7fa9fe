"""`make drills` (`python -m bench.drills [--quick]`): fault drills, each printing what it proved.

Every drill runs on a PostgreSQL server of its own (bench/pg_cluster.py: a throwaway cluster on a free
port, from BENCH_PORTS when set, deleted at the end), never on the machine's shared one, which the
database-restart drill would otherwise stop under everyone else. The reminders drill also needs Redis
on 127.0.0.1:6379 (database 10, flushed before and after).

--quick is the variant CI runs on every change (.ci/run): the same three drills, the same kills, on
less data (720 reminder rows instead of 2,000; 20 actions instead of 200).
"""

import argparse
import signal
import subprocess
import sys
import time

from bench import drill_concurrent_save, drill_database_restart, harness
from bench.harness import ROOT, say
from bench.pg_cluster import throwaway_postgresql

TEMPLATE = "drills_template"
DB = "drills"
FULL = {"actions": 200, "updates": 2_000, "organisations": 20, "users": 400, "plans": 4}
# 400 users: the generator makes one secretariat user per 200, and the concurrent save needs two.
QUICK = {"actions": 20, "updates": 100, "organisations": 5, "users": 400, "plans": 2}
WORKER_KILL_TIMEOUT = 900


def worker_kill(cluster, quick):
    """The reminders drill in a process of its own (as a module: `bench/` must not come first on sys.path)."""
    command = [
        sys.executable,
        "-m",
        "bench.drill_reminders_worker_kill",
        "--server",
        f"postgres://postgres@127.0.0.1:{cluster.port}",
        "--template",
        TEMPLATE,
        *(["--quick"] if quick else []),
    ]
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        return process.wait(timeout=WORKER_KILL_TIMEOUT) == 0
    except subprocess.TimeoutExpired:
        say(f"The reminders drill did not finish within {WORKER_KILL_TIMEOUT} s.")
        return False
    finally:
        if process.poll() is None:
            # SIGTERM, not SIGKILL: the drill then stops its Celery workers and drops its database itself.
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Stopped(BaseException):
    """SIGTERM: stop every drill now (not a drill's failure), unwinding so everything started is stopped."""


def stop(*_):
    raise Stopped


def attempt(drill, *args):
    """The drill's verdict; a drill that stops on an error (its own SystemExit included) has proved nothing."""
    try:
        return drill(*args)
    except (Exception, SystemExit) as exc:
        say(f"FAILED: the drill stopped on {type(exc).__name__}: {exc}")
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Less data, the same faults (what CI runs).")
    args = parser.parse_args()
    # Stopped from outside (CI's timeout): unwind, so gunicorn, the reminders drill and the drills' own
    # PostgreSQL are stopped and its folder deleted.
    signal.signal(signal.SIGTERM, stop)
    try:
        run(args)
    except Stopped:
        say("Stopped (SIGTERM): everything the drills started has been stopped.")
        sys.exit(143)


def run(args):
    started = time.monotonic()
    results = {}
    with throwaway_postgresql() as cluster:
        say(f"PostgreSQL of the drills' own on 127.0.0.1:{cluster.port} ({cluster.folder}); migrating a template ...")
        harness.create_database(TEMPLATE)
        harness.manage(TEMPLATE, "migrate", "--no-input", "-v0")
        count = "720" if args.quick else "2,000"
        say(f"A Celery worker killed mid-batch of {count} reminders ...")
        results["worker killed mid-batch"] = worker_kill(cluster, args.quick)
        say()
        scale = QUICK if args.quick else FULL
        say(f"Preparing {DB}: {scale['actions']} actions, {scale['updates']:,} updates ...")
        harness.prepare(DB, template=TEMPLATE, **scale)
        facts = harness.inproc(DB, "facts")
        cookie = harness.sessions(DB, [facts["secretariat"]])[facts["secretariat"]]
        with harness.gunicorn(DB) as server:
            results["concurrent save"] = attempt(drill_concurrent_save.run, DB, server)
            say()
            paths = ["/actions/", f"/actions/{facts['action']}/", "/dashboard/"]
            results["database restart"] = attempt(drill_database_restart.run, DB, server, cookie, paths, cluster)
    say()
    for name, ok in results.items():
        say(f"{name}: {'proved' if ok else 'FAILED'}")
    say(f"Drills{' (quick)' if args.quick else ''}: {time.monotonic() - started:.0f} s in all.")
    sys.exit(0 if len(results) == 3 and all(results.values()) else 1)


if __name__ == "__main__":
    main()
