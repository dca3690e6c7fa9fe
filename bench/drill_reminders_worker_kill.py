"""Fault drill: a Celery worker SIGKILLed mid-batch of 2,000 reminders loses none and repeats only what it must.

    .venv/bin/python -m bench.drill_reminders_worker_kill [--quick] [--kill-at 0.5] [--keep-logs]
        [--server postgres://postgres@127.0.0.1:5432] [--database NAME] [--template NAME] [--redis URL]

Run it as a module (-m) from the project folder, never as `python bench/...py`: a script's folder comes
first on sys.path, where a module of bench/ could hide an installed one. `make drills` runs it on a
PostgreSQL server of its own (bench/pg_cluster.py). Needs PostgreSQL (by default the local one) and Redis
(127.0.0.1:6379). Everything it uses is its own: a database `plantracker_drill_reminders` (created from
--template or migrated, always dropped at the end), Redis db 10 (flushed before and after), an SMTP sink
on 127.0.0.1 (on a port from BENCH_PORTS when set), and two Celery worker processes.

What happens:
1. 200 partner organisations with 8 contacts each (members who have set a password, so reminders go to
   them) are due to report on one action; 50 of them on a second, overdue one too. The daily job owes
   2,000 reminder rows: 1,600 digests, 400 of them carrying two reminders. The job splits them into
   four sending tasks of at most 500 rows. With --quick: 100 organisations with 6 contacts, 20 of them
   on two actions: 720 rows, 600 digests, two sending tasks, the same kill. If the daily job writes
   anything but the rows the set-up owes, the drill stops there and says so: it would prove nothing.
2. A real worker (`celery -A tracker worker --pool=solo`, the project's settings with
   acks_late, on Redis) runs the daily job and starts sending to an aiosmtpd
   sink that records every email with its Message-ID and which worker's connection it came on.
3. When half the digests have arrived the worker gets SIGKILL: no chance to acknowledge its task, to
   mark the rows it has just sent, or to give its rows back. The database rows are photographed.
4. A second worker starts. Redis hands it the killed worker's unacknowledged task (after a visibility
   timeout shortened to 3 s, as in tests/messaging/test_reminders_worker.py) and the tasks never
   started; the redelivered task, with the same id, takes back the rows its first run had claimed.
   (Killing the whole worker process is what this drill does; reject_on_worker_lost plays no part in it,
   since it only concerns a prefork pool child dying under a live parent.)
5. When no row is pending or sending, the drill checks: every row is sent; every digest's Message-ID
   arrived; an email arrived twice only if the killed worker had handed it to the mail server but not yet
   marked its rows sent (rows "sending" at the kill), once from each worker and with the same Message-ID;
   nothing else arrived twice; no recipient got two different digests.

Exit status: 0 when all of that holds, 1 when it does not, 2 when the drill could not run as designed
(a server missing, or the kill fell outside a batch).
"""

import argparse
import asyncio
import dataclasses
import datetime
import email
import email.policy
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

from bench.harness import free_port

ROOT = Path(__file__).resolve().parents[1]
DATABASE_NAME = "plantracker_drill_reminders"
SERVER_URL = "postgres://postgres@127.0.0.1:5432"
DATABASE_URL = f"{SERVER_URL}/{DATABASE_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/10"
QUEUE = "drill-reminders"
SITE_URL = "https://tracker.example.org"
# A Wednesday: no commissioners' Monday summary, and the dates below make no escalations.
TODAY = datetime.date(2025, 6, 11)
ORGANISATIONS = 200
CONTACTS_PER_ORGANISATION = 8
# The first 50 organisations (by contact address) also owe an overdue update: their contacts get
# two reminders in one digest. Those digests sort first, so the four batches carry 250, 350, 500
# and 500 emails, and the half-way mark (800) falls in the middle of the third.
ORGANISATIONS_WITH_TWO = 50
# --quick: two batches of 380 and 220 emails; the half-way mark (300) falls in the first.
QUICK = {"ORGANISATIONS": 100, "CONTACTS_PER_ORGANISATION": 6, "ORGANISATIONS_WITH_TWO": 20}
# Redis gives a dead worker's unacknowledged task to another worker after this many seconds (1 hour in
# production; short here so the drill takes a minute, as in the worker test).
VISIBILITY_TIMEOUT = 3
WORKER_SETTINGS = "tests.messaging.reminders_worker_settings"

DAILY_JOB_TIMEOUT = 120
KILL_TIMEOUT = 120
SETTLE_TIMEOUT = 180
QUIET_SECONDS = 2.0


class DrillError(Exception):
    """The drill could not run as designed (exit status 2)."""


def say(text=""):
    print(text, flush=True)


@dataclasses.dataclass
class Received:
    worker: str
    rcpt_tos: list
    content: bytes
    at: float


class Sink:
    """An SMTP server on loopback that keeps every email, labelled with the worker whose connection brought it.

    A connection is labelled when it says EHLO: "first" until the killed worker is dead, "second" after.
    An email the killed worker had fully handed over is labelled "first" even if it is stored a moment
    after the kill.
    """

    def __init__(self, port):
        self.port = port
        self.phase = "first"
        self.received = []
        self.condition = threading.Condition()
        self.controller = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        session.drill_worker = self.phase
        return responses

    async def handle_DATA(self, server, session, envelope):
        with self.condition:
            self.received.append(
                Received(
                    worker=getattr(session, "drill_worker", "unknown"),
                    rcpt_tos=list(envelope.rcpt_tos),
                    content=envelope.content,
                    at=time.monotonic(),
                )
            )
            self.condition.notify_all()
        return "250 Message accepted for delivery"

    def start(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            try:
                self.controller.stop()
            except (AssertionError, RuntimeError, asyncio.CancelledError):
                pass
            self.controller = None

    def count(self):
        with self.condition:
            return len(self.received)

    def wait_for(self, count, timeout, alive=lambda: True):
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0 or not alive():
                    return False
                self.condition.wait(min(left, 0.5))
            return True

    def wait_quiet(self, seconds, timeout):
        """Wait until nothing has arrived for `seconds` (at most `timeout`)."""
        deadline = time.monotonic() + timeout
        last, since = self.count(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.count()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= seconds:
                return True
        return False


# --- database ---------------------------------------------------------------------------------------


def server_command(sql):
    import psycopg2

    connection = psycopg2.connect(f"{SERVER_URL}/postgres", connect_timeout=5)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone() if cursor.description else None
    finally:
        connection.close()


def server_started():
    """When the PostgreSQL server last started: a change during the drill means someone restarted it."""
    return server_command("SELECT pg_postmaster_start_time()")[0]


def create_database(template=None):
    # A database left by an interrupted run of this drill goes first.
    server_command(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
    server_command(f'CREATE DATABASE "{DATABASE_NAME}"' + (f' TEMPLATE "{template}"' if template else ""))


def drop_database(timeout=30):
    """Drop the drill's database, trying again for a while if the server is away (restarting, say)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            server_command(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
            return
        except Exception:  # psycopg2 is imported late: any connection error
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def setup_django(port, var_dir):
    os.environ.update(
        {
            "DJANGO_DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "tracker.settings",
            "DATABASE_URL": DATABASE_URL,
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_RESULT_BACKEND": REDIS_URL,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(port),
            "SITE_URL": SITE_URL,
            "PLAN_TRACKER_VAR_DIR": str(var_dir),
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_partners():
    """The plan, two actions and 200 organisations with 8 partner contacts each; returns what is owed."""
    from django.contrib.auth.hashers import make_password

    from priorities.models import Action, ActionPartner, Objective, Plan, Priority, UpdateFrequency
    from tracker.models import Organisation, User

    # Reminders go to members who have joined (set a password): one real hash, shared, as hashing costs.
    password = make_password(f"drill-{os.getpid()}-{time.monotonic_ns()}")

    plan = Plan.objects.create(title="Drill plan", slug="drill-plan")
    priority = Priority.objects.create(plan=plan, number=1, title="Drill priority")
    objective = Objective.objects.create(priority=priority, code="1.1", title="Drill objective")
    due_soon = Action.objects.create(
        objective=objective, code="1.1.1", title="Train frontline staff", description="Drill action."
    )
    overdue = Action.objects.create(
        objective=objective, code="1.1.2", title="Publish referral data", description="Drill action."
    )
    Action.objects.filter(pk=due_soon.pk).update(
        next_update_due=TODAY + datetime.timedelta(days=3), update_frequency=UpdateFrequency.MONTHLY
    )
    Action.objects.filter(pk=overdue.pk).update(
        next_update_due=TODAY - datetime.timedelta(days=2), update_frequency=UpdateFrequency.MONTHLY
    )
    organisations = Organisation.objects.bulk_create(
        [Organisation(name=f"Drill partner {n:03d}", slug=f"drill-partner-{n:03d}") for n in range(ORGANISATIONS)]
    )
    users, codes = [], {}
    for n, organisation in enumerate(organisations):
        for k in range(CONTACTS_PER_ORGANISATION):
            address = f"p{n:03d}.c{k}@drill.example.org"
            users.append(
                User(
                    username=f"drill-p{n:03d}-c{k}",
                    email=address,
                    password=password,
                    role=User.Role.PARTNER,
                    organisation=organisation,
                )
            )
            codes[address] = {"1.1.1", "1.1.2"} if n < ORGANISATIONS_WITH_TWO else {"1.1.1"}
    User.objects.bulk_create(users, batch_size=1000)
    partnerships = [ActionPartner(action=due_soon, organisation=o) for o in organisations]
    partnerships += [ActionPartner(action=overdue, organisation=o) for o in organisations[:ORGANISATIONS_WITH_TWO]]
    ActionPartner.objects.bulk_create(partnerships)
    return codes


def other_sessions():
    """Sessions on the drill database other than ours (a killed worker's, until PostgreSQL notices)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DATABASE_NAME]
        )
        return cursor.fetchone()[0]


# --- workers ----------------------------------------------------------------------------------------


def start_worker(name, port, work_dir):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS,
        "DATABASE_URL": DATABASE_URL,
        "DATABASE_CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "REMINDERS_TEST_QUEUE": QUEUE,
        "REMINDERS_TEST_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_TIMEOUT": "5",
        "SITE_URL": SITE_URL,
        "PLAN_TRACKER_VAR_DIR": str(work_dir),
        "LOG_LEVEL": "INFO",
    }
    log_path = work_dir / f"worker-{name}.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tracker", "worker", "--pool=solo", "--loglevel=INFO"]
            + ["-Q", QUEUE, "-n", f"drill-{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    process.log_path = log_path
    return process


def stop_process(process):
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass


def log_tail(process, lines=30):
    try:
        text = process.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


# --- the drill --------------------------------------------------------------------------------------


@dataclasses.dataclass
class AtKill:
    received: int
    seconds: float
    sent: set
    sending: dict  # row id -> claim token
    pending: set


def photograph_rows():
    from messaging.models import Reminder

    sent, sending, pending = set(), {}, set()
    for pk, state, token in Reminder.objects.values_list("pk", "state", "claim_token"):
        if state == Reminder.State.SENT:
            sent.add(pk)
        elif state == Reminder.State.SENDING:
            sending[pk] = token
        elif state == Reminder.State.PENDING:
            pending.add(pk)
    return sent, sending, pending


def wait_settled(worker, timeout):
    """Wait until no row is pending or sending; returns the seconds it took, or None."""
    from messaging.models import Reminder

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not Reminder.objects.filter(state__in=[Reminder.State.PENDING, Reminder.State.SENDING]).exists():
            return time.monotonic() - started
        if worker.poll() is not None:
            return None
        time.sleep(0.2)
    return None


def broker_leftovers(broker, timeout=10):
    """Tasks still queued or unacknowledged on the drill's Redis db, once the last acknowledgement is in."""
    deadline = time.monotonic() + timeout
    while True:
        queued, unacked = broker.llen(QUEUE), broker.hlen("unacked")
        if (queued == 0 and unacked == 0) or time.monotonic() > deadline:
            return queued, unacked
        time.sleep(0.2)


def codes_in(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return set(re.findall(r"^- (\S+) ", text, flags=re.MULTILINE))


def analyse(*, owed_codes, sink, at_kill, timings, settled, leftovers, workers):
    """Check the property, print the figures; returns the list of failures."""
    from messaging.models import Reminder
    from messaging.reminders import BATCH_ROWS, MARK_SENT_EVERY, digest_message_id

    def n(value):
        return f"{value:,}"

    rows = list(
        Reminder.objects.values_list("pk", "recipient_email", "state", "message_id", "claim_token", "action__code")
    )
    failures = []

    # What should have arrived: one digest per recipient, its Message-ID a function of its rows.
    rows_of = defaultdict(set)  # recipient -> row ids
    codes_of = defaultdict(set)  # recipient -> action codes
    for pk, recipient, _, _, _, code in rows:
        rows_of[recipient].add(pk)
        codes_of[recipient].add(code)
    expected_id = {
        recipient: digest_message_id(recipient_email=recipient, reminder_ids=ids) for recipient, ids in rows_of.items()
    }
    if codes_of != owed_codes:
        failures.append("the daily job did not write the reminders the data owes")

    # What arrived, by recipient: every copy, with its Message-ID and the worker whose connection brought it.
    copies = defaultdict(list)  # recipient -> [(Received, Message-ID)]
    bad_messages = []
    for item in sink.received:
        message = email.message_from_bytes(item.content, policy=email.policy.default)
        message_id, recipient = message["Message-ID"], message["To"]
        copies[recipient].append((item, message_id))
        if recipient not in expected_id:
            bad_messages.append(f"{message_id} to {recipient}, who is owed nothing")
            continue
        if item.rcpt_tos != [recipient]:
            bad_messages.append(f"{message_id} (To: {recipient}) was delivered to {item.rcpt_tos}")
        if message_id != expected_id[recipient]:
            bad_messages.append(f"{message_id} to {recipient} is not its digest's Message-ID {expected_id[recipient]}")
        if codes_in(message) != codes_of[recipient]:
            bad_messages.append(f"{message_id} lists {sorted(codes_in(message))}, not {sorted(codes_of[recipient])}")
        if item.worker not in ("first", "second"):
            bad_messages.append(f"{message_id} came on a connection that never said EHLO")

    states = Counter(state for _, _, state, *_ in rows)
    not_sent = [pk for pk, _, state, *_ in rows if state != Reminder.State.SENT]
    wrong_stored_id = [
        pk
        for pk, recipient, state, stored, *_ in rows
        if state == Reminder.State.SENT and stored != expected_id[recipient]
    ]
    missing = sorted(recipient for recipient in expected_id if not copies.get(recipient))
    in_flight = set(at_kill.sending)

    # The crash window: digests the killed worker handed over whose rows it had not yet marked sent.
    window = {
        recipient
        for recipient, received in copies.items()
        if recipient in rows_of and rows_of[recipient] <= in_flight and any(i.worker == "first" for i, _ in received)
    }
    repeats = {recipient: received for recipient, received in copies.items() if len(received) > 1}
    allowed, not_allowed = [], []
    for recipient, received in sorted(repeats.items(), key=lambda pair: min(rows_of.get(pair[0], {0}))):
        origin = sorted(item.worker for item, _ in received)
        message_ids = {message_id for _, message_id in received}
        if recipient in window and origin == ["first", "second"] and len(message_ids) == 1:
            allowed.append(recipient)
            continue
        ids = rows_of.get(recipient, set())
        where = (
            "in flight at the kill"
            if ids and ids <= in_flight
            else "already marked sent at the kill"
            if ids and ids <= at_kill.sent
            else "not claimed at the kill"
        )
        not_allowed.append(
            f"{recipient} got {len(received)} emails ({len(message_ids)} Message-ID(s)) from {origin}, rows {where}"
        )

    # Tasks: the rows of one sending task keep its id as their claim token.
    batches = defaultdict(lambda: (set(), set()))
    for pk, recipient, *_, token, _ in rows:
        batches[token][0].add(pk)
        batches[token][1].add(recipient)
    tasks = sorted(batches.values(), key=lambda task: min(task[1]))
    killed_tokens = set(at_kill.sending.values())
    killed_task_rows = {pk for pk, *_, token, _ in rows if token in killed_tokens}
    same_task = all(token == at_kill.sending[pk] for pk, *_, token, _ in rows if pk in at_kill.sending)
    total_emails = len(expected_id)
    first_emails = sum(1 for item in sink.received if item.worker == "first")
    second_emails = sum(1 for item in sink.received if item.worker == "second")
    owed_twice = sum(1 for codes in owed_codes.values() if len(codes) > 1)

    table = [
        ("reminder rows written by the daily job", n(len(rows))),
        ("digests owed (one per recipient)", f"{n(total_emails)} ({n(owed_twice)} of them carry two reminders)"),
        (
            f"sending tasks (at most {BATCH_ROWS} rows each)",
            f"{len(tasks)}, in sending order: "
            + ", ".join(f"{n(len(task_rows))} rows / {n(len(task_to))} emails" for task_rows, task_to in tasks),
        ),
        (
            "worker 1 killed (SIGKILL) after",
            f"{n(at_kill.received)} of {n(total_emails)} emails had arrived "
            f"({at_kill.received / total_emails:.0%}), {at_kill.seconds:.1f} s after the daily job was queued",
        ),
        (
            "rows at the kill",
            f"{n(len(at_kill.sent))} sent, {n(len(at_kill.sending))} sending, {n(len(at_kill.pending))} pending",
        ),
        (
            "task in flight at the kill",
            f"{len(killed_tokens)} task{'' if len(killed_tokens) == 1 else 's'}, {n(len(killed_task_rows))} rows: "
            f"{n(len(killed_task_rows - in_flight))} already marked sent, {n(len(in_flight))} claimed but not marked",
        ),
        (
            "emails handed over, rows not marked sent",
            f"{n(len(window))} (the crash window: rows are marked sent every {MARK_SENT_EVERY * 1000:.0f} ms)",
        ),
        ("emails from worker 1 / worker 2", f"{n(first_emails)} / {n(second_emails)}"),
        (
            "worker 2",
            f"started {timings['second_start']:.1f} s after the kill; no row pending or sending "
            + (f"{settled:.1f} s after it started" if settled is not None else f"NOT within {SETTLE_TIMEOUT} s"),
        ),
        ("in-flight rows finished by the same task id", "yes" if same_task else "no"),
        ("emails received in all", n(len(sink.received))),
        ("recipients who got their digest", f"{n(total_emails - len(missing))} of {n(total_emails)}"),
        (
            "rows in state sent at the end",
            f"{n(states[Reminder.State.SENT])} of {n(len(rows))}" + (f" ({dict(states)})" if not_sent else ""),
        ),
        (
            "recipients who got a second email",
            f"{n(len(repeats))}: {n(len(allowed))} in the crash window with the same Message-ID, "
            f"{n(len(not_allowed))} otherwise",
        ),
        ("tasks left on the broker", f"{leftovers[0]} queued, {leftovers[1]} unacknowledged"),
    ]
    width = max(len(label) for label, _ in table)
    say()
    say("Figures")
    say("-" * (width + 70))
    for label, value in table:
        say(f"{label:<{width}}  {value}")
    say("-" * (width + 70))

    if repeats:
        say()
        say("Emails received twice:")
        shown = sorted(repeats.items(), key=lambda pair: min(rows_of.get(pair[0], {0})))
        for recipient, received in shown[:20]:
            origin = ", ".join(
                f"{'killed worker' if item.worker == 'first' else 'worker 2'} at {item.at - timings['kill']:+.2f} s"
                for item, _ in received
            )
            message_ids = sorted({message_id for _, message_id in received})
            say(f"  {recipient}, rows {sorted(rows_of.get(recipient, []))}, {' / '.join(message_ids)}: {origin}")
        if len(shown) > 20:
            say(f"  ... and {len(shown) - 20} more")
        say("  (times from the kill)")

    # The verdict, point by point: anything lost or repeated wrongly fails, wherever the kill fell.
    if not_sent:
        failures.append(f"{len(not_sent)} rows are not sent: {dict(states)}")
    if missing:
        failures.append(f"{len(missing)} recipients never got their digest, e.g. {missing[:3]}")
    if wrong_stored_id:
        failures.append(f"{len(wrong_stored_id)} sent rows store another Message-ID than their digest's")
    if bad_messages:
        failures.append(f"{len(bad_messages)} emails are wrong: " + "; ".join(bad_messages[:5]))
    if not_allowed:
        failures.append(
            f"{len(not_allowed)} repeats not allowed (outside the crash window, or with another Message-ID): "
            + "; ".join(not_allowed[:5])
        )
    if leftovers != (0, 0):
        failures.append(f"tasks left on the broker after every row was sent: {leftovers}")
    if workers["second"].poll() is not None:
        failures.append("the second worker died")

    say()
    if failures:
        say("NOT PROVED: the property does not hold.")
        for failure in failures:
            say(f"  - {failure}")
        return failures
    if not at_kill.sending:
        raise DrillError("the kill fell between two tasks: no row was being sent, so the drill proved nothing")
    if at_kill.received >= total_emails:
        raise DrillError("every email had arrived before the kill: the drill proved nothing")
    say("Proved:")
    say(
        f"  - None lost: a Celery worker killed with SIGKILL mid-batch (after {n(at_kill.received)} of "
        f"{n(total_emails)} emails, {n(len(in_flight))} rows claimed by its task and not marked sent) left "
        f"nothing behind: all {n(len(rows))} reminder rows ended sent, and all {n(total_emails)} recipients got "
        "their digest with the right actions and the Message-ID its rows determine."
    )
    say(
        "  - The killed task was not lost either: never acknowledged (acks_late), Redis gave it to the second "
        f"worker once its visibility timeout ({VISIBILITY_TIMEOUT} s here; kombu's default, which the project's "
        "settings keep, is 1 hour) had passed; under the same task id it took back and sent its "
        f"{n(len(in_flight))} claimed rows. Nothing was left queued or unacknowledged."
    )
    if repeats:
        say(
            f"  - Duplicates only in the crash window: {n(len(repeats))} recipient(s) got their digest twice, each "
            f"one the killed worker had handed to the mail server but not yet marked sent ({n(len(window))} such, "
            f"{n(len(window & set(allowed)))} sent again), and both copies carry the same Message-ID, so the "
            "receiving mail system can drop the second. No other recipient got anything twice."
        )
    else:
        say(
            f"  - No duplicates: this kill fell where every email handed to the mail server had been marked sent "
            "(the crash window was empty); no recipient got anything twice. Run it again to see the window hit: "
            f"it stays open up to {MARK_SENT_EVERY * 1000:.0f} ms per mark."
        )
    return failures


def configure(args):
    """The server, database, broker and scale this run uses (module settings every step reads)."""
    global SERVER_URL, DATABASE_NAME, DATABASE_URL, REDIS_URL
    SERVER_URL, DATABASE_NAME, REDIS_URL = args.server.rstrip("/"), args.database, args.redis
    DATABASE_URL = f"{SERVER_URL}/{DATABASE_NAME}"
    if args.quick:
        globals().update(QUICK)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--kill-at", type=float, default=0.5, help="Kill the first worker once this share of the emails arrived."
    )
    parser.add_argument("--keep-logs", action="store_true", help="Keep the workers' logs even when the drill passes.")
    parser.add_argument("--quick", action="store_true", help="720 reminders instead of 2,000: the same kill (CI).")
    parser.add_argument("--server", default=SERVER_URL, help="The PostgreSQL server, without a database name.")
    parser.add_argument("--database", default=DATABASE_NAME, help="The drill's database (dropped at the end).")
    parser.add_argument(
        "--template", help="Create the database from this migrated one (the migrate step then has nothing to do)."
    )
    parser.add_argument("--redis", default=REDIS_URL, help="The Redis database (flushed before and after).")
    args = parser.parse_args()
    configure(args)
    # Stopped from outside (bench.drills' timeout, CI): unwind, so the workers are stopped and the database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import redis

    say(
        f"Fault drill: a Celery worker killed mid-batch of "
        f"{ORGANISATIONS * CONTACTS_PER_ORGANISATION + ORGANISATIONS_WITH_TWO * CONTACTS_PER_ORGANISATION:,} "
        f"reminders ({time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    broker = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        broker.ping()
    except redis.exceptions.ConnectionError as exc:
        say(f"Cannot run: Redis does not answer at {REDIS_URL} ({exc}).")
        return 2

    work_dir = Path(tempfile.mkdtemp(prefix="drill-reminders-"))
    workers = {}
    sink = None
    status = 2
    try:
        broker.flushdb()
        try:
            create_database(args.template)
            server_started_at = server_started()
        except Exception as exc:  # psycopg2 is imported late: any connection error
            raise DrillError(f"cannot create the database {DATABASE_NAME} at {SERVER_URL} ({exc})") from exc
        port = free_port()
        started = time.monotonic()
        setup_django(port, work_dir)
        owed_codes = make_partners()
        say(
            f"Set up: database {DATABASE_NAME} migrated, {ORGANISATIONS} organisations x "
            f"{CONTACTS_PER_ORGANISATION} contacts, {ORGANISATIONS_WITH_TWO} of them on two actions "
            f"({time.monotonic() - started:.1f} s); SMTP sink on 127.0.0.1:{port}; Redis {REDIS_URL}."
        )

        from celery import Celery

        sink = Sink(port)
        sink.start()
        client = Celery(broker=REDIS_URL, backend=REDIS_URL)
        workers["first"] = first = start_worker("first", port, work_dir)
        timings = {}
        timings["queued"] = time.monotonic()
        result = client.send_task(
            "priorities.tasks.send_daily_reminders", kwargs={"today": TODAY.isoformat()}, queue=QUEUE
        )
        try:
            daily = result.get(timeout=DAILY_JOB_TIMEOUT)
        except Exception as exc:
            message = " ".join(str(exc).split())
            raise DrillError(f"the daily job did not finish ({type(exc).__name__}: {message})") from exc
        finally:
            result.forget()
        total = len(owed_codes)
        say(
            f"Daily job (on worker 1): {daily['written']:,} reminder rows written, {daily['queued']:,} queued for "
            "sending."
        )
        owed_rows = sum(len(codes) for codes in owed_codes.values())
        if daily["written"] != owed_rows or daily["queued"] != owed_rows:
            raise DrillError(
                f"the daily job wrote {daily['written']:,} and queued {daily['queued']:,} reminder rows where the "
                f"set-up owes {owed_rows:,}: the set-up no longer makes them due under today's reminder rules, "
                "so a kill would prove nothing. Fix make_partners()."
            )

        kill_at = max(1, round(total * args.kill_at))
        if not sink.wait_for(kill_at, KILL_TIMEOUT, alive=lambda: first.poll() is None):
            raise DrillError(
                f"only {sink.count()} of {kill_at} emails arrived before the kill was due:\n{log_tail(first)}"
            )
        first.send_signal(signal.SIGKILL)
        timings["kill"] = time.monotonic()
        received_at_kill = sink.count()
        first.wait(timeout=20)
        # A query the killed worker had sent may still commit; wait until PostgreSQL has ended its session.
        deadline = time.monotonic() + 20
        while other_sessions() and time.monotonic() < deadline:
            time.sleep(0.1)
        sent, sending, pending = photograph_rows()
        at_kill = AtKill(
            received=received_at_kill,
            seconds=timings["kill"] - timings["queued"],
            sent=sent,
            sending=sending,
            pending=pending,
        )
        say(
            f"Killed worker 1 (SIGKILL) when {received_at_kill:,} emails had arrived: rows {len(sent):,} sent, "
            f"{len(sending):,} sending, {len(pending):,} pending."
        )

        sink.phase = "second"
        workers["second"] = second = start_worker("second", port, work_dir)
        timings["second_start"] = time.monotonic() - timings["kill"]
        settled = wait_settled(second, SETTLE_TIMEOUT)
        sink.wait_quiet(QUIET_SECONDS, timeout=15)
        leftovers = broker_leftovers(broker)
        say(
            "Worker 2 started; "
            + (f"no row pending or sending {settled:.1f} s later." if settled is not None else "rows did NOT settle.")
        )

        failures = analyse(
            owed_codes=owed_codes,
            sink=sink,
            at_kill=at_kill,
            timings=timings,
            settled=settled,
            leftovers=leftovers,
            workers=workers,
        )
        status = 1 if failures else 0
        try:
            restarted = server_started() != server_started_at
        except Exception:  # psycopg2 is imported late: any connection error
            restarted = True
        if restarted:
            say(
                "\nNote: the PostgreSQL server was restarted during the drill (not by it: another user of this "
                "machine)."
            )
            if failures:
                say("The failures above may be that restart's doing, not a worker's death: run the drill again.")
                status = 2
        if failures:
            for name, process in workers.items():
                say(f"\nLast lines of worker {name}'s log ({process.log_path}):\n{log_tail(process)}")
    except DrillError as exc:
        say(f"\nCould not prove anything: {exc}")
        status = 2
    except Exception as exc:  # a server went away mid-drill, say: report it, then clean up
        here = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == __file__]
        where = f" (line {here[-1].lineno}, in {here[-1].name})" if here else ""
        message = " ".join(str(exc).split())
        say(f"\nCould not prove anything: the drill stopped on {type(exc).__name__}{where}: {message}")
        status = 2
    finally:
        for process in workers.values():
            stop_process(process)
        if sink is not None:
            sink.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        cleanup = []
        try:
            drop_database()
            cleanup.append(f"database {DATABASE_NAME} dropped")
        except Exception as exc:  # psycopg2 is imported late: any connection error
            cleanup.append(f"database {DATABASE_NAME} NOT dropped ({exc})")
            status = status or 2
        try:
            broker.flushdb()
            cleanup.append(f"Redis {REDIS_URL} flushed")
        except redis.exceptions.RedisError as exc:
            cleanup.append(f"Redis {REDIS_URL} NOT flushed ({exc})")
        cleanup.append("worker processes ended")
        if status == 0 and not args.keep_logs:
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            say(f"Workers' logs: {work_dir}")
        say("Cleaned up: " + ", ".join(cleanup) + ".")
    return status


if __name__ == "__main__":
    sys.exit(main())
