"""`make drills`: fault drills against the local PostgreSQL, Redis and gunicorn, each printing what it proved."""

import subprocess
import sys
from pathlib import Path

from bench import drill_concurrent_save, drill_database_restart, harness
from bench.harness import say

DB = "plantracker_drills"


def main():
    results = {}
    say("A Celery worker killed mid-batch of 2,000 reminders ...")
    worker_kill = subprocess.run([sys.executable, str(Path(__file__).with_name("drill_reminders_worker_kill.py"))])
    results["worker killed mid-batch"] = worker_kill.returncode == 0
    say()
    try:
        say(f"Preparing {DB}: 200 actions, 2,000 updates ...")
        harness.prepare(DB, actions=200, updates=2_000, organisations=20, users=400)
        facts = harness.inproc(DB, "facts")
        cookie = harness.sessions(DB, [facts["secretariat"]])[facts["secretariat"]]
        with harness.gunicorn(DB) as server:
            results["concurrent save"] = drill_concurrent_save.run(DB, server)
            say()
            paths = ["/actions/", f"/actions/{facts['action']}/", "/dashboard/"]
            results["database restart"] = drill_database_restart.run(DB, server, cookie, paths)
    finally:
        drill_database_restart.ensure_postgresql_running()
        harness.drop_database(DB)
    say()
    for name, ok in results.items():
        say(f"{name}: {'proved' if ok else 'FAILED'}")
    sys.exit(0 if results and all(results.values()) else 1)


if __name__ == "__main__":
    main()
