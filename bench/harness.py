"""What the bench and the drills share: throwaway PostgreSQL databases, gunicorn, HTTP on 127.0.0.1 only."""

import contextlib
import http.client
import json
import math
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
HOST = "127.0.0.1"  # the only address any traffic goes to
SECRET = "bench-only-" + secrets.token_hex(16)


def say(text=""):
    print(text, flush=True)


def database_url(name):
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{name}"


def django_env(db_name):
    """Production-like settings (DEBUG off) with the bench URLconf, on the given database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url(db_name),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=SECRET,
        # Load users sign in with a password alone (production would send staff to set up two-step sign-in).
        DJANGO_TWO_STEP_ROLES="",
        PLAN_TRACKER_VAR_DIR=str(ROOT / "var" / "bench"),
        PYTHONPATH=str(ROOT),
    )
    # Sessions are made with force_login (sessions()): no second step to pass on 127.0.0.1.
    env.setdefault("DJANGO_TWO_STEP_ROLES", "")
    return env


def _admin_sql(*statements):
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def drop_database(name):
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_database(name, template=None):
    drop_database(name)
    _admin_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def wrk(port, path, seconds, cookie=None):
    """Requests per second wrk sustains on `path` (2 threads, 4 connections); any non-2xx/3xx answer stops the bench."""
    header = ["--header", f"Cookie: {cookie}"] if cookie else []
    out = subprocess.run(
        ["wrk", "--threads", "2", "--connections", "4", "--duration", f"{seconds}s", "--timeout", "30s"]
        + header
        + [f"http://{HOST}:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        raise SystemExit(f"wrk {path}: {bad.group(1)} responses were not 2xx/3xx:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def bump_data_generation(db_name):
    """Increment the data generation (tracker/caching.py) as a committed change does, with its time."""
    conn = psycopg2.connect(dbname=db_name, **PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "UPDATE tracker_datageneration SET value = value + 1, changed_at = STATEMENT_TIMESTAMP() WHERE id = 1"
            )
    finally:
        conn.close()


def manage(db_name, *args, quiet=False):
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=django_env(db_name), capture_output=quiet, text=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout or ''}{result.stderr or ''}")
    return result.stdout


def inproc(db_name, command, **kwargs):
    """Run bench/inproc.py (Django set up in-process on `db_name`) and return its JSON answer."""
    result = subprocess.run(
        [PY, "-m", "bench.inproc", command, json.dumps(kwargs)],
        cwd=ROOT,
        env=django_env(db_name),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"bench.inproc {command} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def prepare(db_name, *, actions, updates, organisations, users, plans=4, template=None):
    """A fresh database with load data; `template`, if given, is an already migrated empty database."""
    create_database(db_name, template=template)
    if not template:
        manage(db_name, "migrate", "--no-input", "-v0")
    started = time.monotonic()
    manage(
        db_name,
        "generate_load_data",
        "--force",
        f"--actions={actions}",
        f"--updates={updates}",
        f"--organisations={organisations}",
        f"--users={users}",
        f"--plans={plans}",
        quiet=True,
    )
    return time.monotonic() - started


def free_port():
    """A free port on 127.0.0.1: the first free one in BENCH_PORTS (e.g. "18200-18299") when set, else any."""
    ports = os.environ.get("BENCH_PORTS", "").strip()
    if not ports:
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            return sock.getsockname()[1]
    low, _, high = ports.partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise SystemExit(f"No free port in BENCH_PORTS={ports}.")


@contextlib.contextmanager
def gunicorn(db_name, *, workers=2, log=None):
    """gunicorn serving the app (bench URLconf) on a free loopback port; stopped on exit."""
    port = free_port()
    log_path = Path(log or ROOT / "var" / "bench" / f"gunicorn-{port}.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(
            [
                GUNICORN,
                "tracker.wsgi:application",
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "120",
                "--chdir",
                str(ROOT),
            ],
            cwd=ROOT,
            env=django_env(db_name),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if request(port, "/accounts/login/")[0] == 200:
                        break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start; see {log_path}")
                time.sleep(0.3)
            yield Server(port=port, process=process, log=log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Server:
    def __init__(self, *, port, process, log):
        self.port, self.process, self.log = port, process, log
        self.url = f"http://{HOST}:{port}"


def request(port, path, *, cookie=None, method="GET", body=None, headers=None, timeout=120):
    """One HTTP request to 127.0.0.1 -> (status, body text, seconds, response headers)."""
    all_headers = {"Host": f"{HOST}:{port}", **(headers or {})}
    if cookie:
        all_headers["Cookie"] = cookie
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, text, time.perf_counter() - started, response.headers
    finally:
        conn.close()


def sessions(db_name, usernames):
    """{username: "sessionid=..."} cookies, made in-process with the test client's force_login."""
    return inproc(db_name, "sessions", usernames=usernames)


def machine():
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    server = subprocess.run(
        ["psql", "-h", PG["host"], "-U", PG["user"], "-Atc", "SHOW server_version", "postgres"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cores": os.cpu_count(),
        "memory": memory,
        "cpu": cpu,
        "python": sys.version.split()[0],
        "postgresql": server or "unknown",
    }


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def percentile(values, fraction):
    """Nearest-rank percentile (p95 of 40 samples is the 38th smallest)."""
    values = sorted(values)
    return values[max(1, math.ceil(fraction * len(values))) - 1]
