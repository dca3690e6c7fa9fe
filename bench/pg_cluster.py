"""A throwaway PostgreSQL server for the drills: its own data folder and port, stopped and deleted afterwards.

The database-restart drill stops and starts PostgreSQL. On a shared machine the server on 5432 serves
everyone else's tests too, so the drills never touch it: `throwaway_postgresql()` makes a new cluster
with initdb in a temporary folder (as the `postgres` user when run as root, since PostgreSQL refuses to
run as root), starts it on 127.0.0.1 on a free port (from BENCH_PORTS when set), points bench.harness
at it, and stops and deletes it on the way out, whatever happens.
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench import harness


def _bin_dir():
    """The folder of initdb and pg_ctl: Debian keeps them out of PATH, under /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("pg_config")
    if found:
        bindir = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if bindir and Path(bindir, "initdb").exists():
            return Path(bindir)
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if candidates:
        return candidates[0].parent
    raise SystemExit("No initdb found: install PostgreSQL's server package (postgresql-15 on Debian).")


class Cluster:
    """A PostgreSQL server of our own in `folder`, listening on 127.0.0.1:`port` only."""

    def __init__(self, folder, port):
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = port
        self.bin = _bin_dir()
        # PostgreSQL will not run as root: run its programs as the postgres user, who owns the folder.
        self.as_user = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, program, *args, check=True, timeout=120):
        result = subprocess.run(
            [*self.as_user, str(self.bin / program), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if check and result.returncode:
            raise SystemExit(
                f"{program} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result

    def create(self):
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def pg_ctl(self, action, check=True):
        """`pg_ctl start|stop|restart` for this cluster (fast shutdown), waiting until it is done."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        extra = {
            "start": ["-o", options, "-l", str(self.log)],
            "restart": ["-o", options, "-l", str(self.log)],
            "stop": [],
        }[action]
        mode = [] if action == "start" else ["-m", "fast"]
        return self._run("pg_ctl", action, "-D", str(self.data), "-w", "-t", "60", *mode, *extra, check=check)

    def ready(self):
        return (
            subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"], check=False).returncode == 0
        )

    def ensure_running(self):
        """Started again if it is down (the restart drill's safety net)."""
        if self.ready():
            return
        self.pg_ctl("start", check=False)
        for _ in range(60):
            if self.ready():
                return
            time.sleep(0.5)
        raise SystemExit(f"The drill's own PostgreSQL (port {self.port}) did not come back; see {self.log}")


@contextlib.contextmanager
def throwaway_postgresql():
    """A new PostgreSQL cluster for the duration of the block, with bench.harness pointed at it."""
    folder = tempfile.mkdtemp(prefix="plantracker-drill-pg-")
    cluster = None
    saved = dict(harness.PG)
    try:
        cluster = Cluster(folder, harness.free_port())
        cluster.create()
        cluster.pg_ctl("start")
        harness.PG.update(host="127.0.0.1", port=cluster.port)
        yield cluster
    finally:
        harness.PG.clear()
        harness.PG.update(saved)
        if cluster is not None and cluster.data.exists():
            cluster.pg_ctl("stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)
