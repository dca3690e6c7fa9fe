"""`make drills`: fault drills against the local PostgreSQL and gunicorn, each printing what it proved.

The Celery "worker killed mid-batch of reminders" drill lives with the reminders work, not here.
"""

import sys

from bench import drill_concurrent_save, drill_database_restart, harness
from bench.harness import say

DB = "plantracker_drills"


def main():
    results = {}
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
