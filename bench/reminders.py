"""Benchmark: send 10,000 reminders through the real sending service, next to raw smtplib, in the same run.

    .venv/bin/python bench/reminders.py [--count 10000] [--rounds 3] [--database-url URL]

(On PostgreSQL: `createdb -h 127.0.0.1 -U postgres wt_reminders`, then
`--database-url postgres://postgres@127.0.0.1:5432/wt_reminders`; the script only adds rows.)

What is measured, against one local aiosmtpd sink (a separate process, so it does not share our GIL):
- service: `reminders_send_batch` over one SMTP connection: claim the rows, render each digest (text and
  HTML), send it, and mark its rows sent (one UPDATE per digest), on a scratch SQLite file by default;
- raw: `smtplib.SMTP.sendmail` of the very same message bytes over one connection, nothing else.
Each reminder goes to its own recipient, so 10,000 reminders are 10,000 emails (the worst case for the
service: no two reminders share a digest). The target is a rate at least 0.3 of the raw rate.
The service builds each MIME message and records each send; raw only pushes ready-made bytes, so the
ratio also falls when other processes take the CPU: read it next to the machine's load average.
"""

import argparse
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 0.3

SINK = textwrap.dedent(
    """
    import sys, time
    from aiosmtpd.controller import Controller

    class Count:
        received = 0
        async def handle_DATA(self, server, session, envelope):
            Count.received += 1
            return "250 OK"

    controller = Controller(Count(), hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
    print(Count.received, flush=True)
    """
)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sink(port):
    sink = subprocess.Popen(
        [sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout.readline().strip() == "ready"
    return sink


def stop_sink(sink):
    out, _ = sink.communicate("", timeout=30)
    return int(out.strip().splitlines()[-1])


def setup_django(database_url, port):
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ["DATABASE_URL"] = database_url
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.smtp.EmailBackend"
    os.environ["EMAIL_HOST"] = "127.0.0.1"
    os.environ["EMAIL_PORT"] = str(port)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tracker.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_reminders(count):
    import datetime

    from django.utils import timezone

    from messaging.models import Reminder
    from priorities.models import Action, Objective, Plan, Priority

    plan = Plan.objects.create(title="Bench plan", slug=f"bench-{time.time_ns()}")
    objective = Objective.objects.create(
        priority=Priority.objects.create(plan=plan, number=1, title="Bench"), code="1.1", title="Bench"
    )
    due = timezone.localdate() - datetime.timedelta(days=3)
    action = Action.objects.create(objective=objective, code="1.1.1", title="Bench action", description="Bench.")
    Action.objects.filter(pk=action.pk).update(next_update_due=due, update_frequency=1)
    Reminder.objects.bulk_create(
        [
            Reminder(recipient_email=f"contact{n}@bench.example.org", action=action, kind="overdue", cycle=due)
            for n in range(count)
        ],
        batch_size=1000,
    )
    return list(Reminder.objects.filter(action=action).order_by("pk").values_list("pk", flat=True))


def raw_messages(ids):
    """The same messages the service sends, as bytes (built untimed)."""
    from django.conf import settings

    from messaging.models import Reminder
    from messaging.reminders import build_digest

    rows = Reminder.objects.filter(pk__in=ids).select_related("action", "recipient_user", "organisation")
    messages = []
    for row in rows:
        message = build_digest(recipient_email=row.recipient_email, reminders=[row])
        messages.append((row.recipient_email, message.message().as_bytes(linesep="\r\n")))
    return settings.DEFAULT_FROM_EMAIL, messages


def time_service(ids, port):
    from messaging.models import Reminder
    from messaging.reminders import reminders_send_batch

    sink = start_sink(port)
    started = time.perf_counter()
    outcome = reminders_send_batch(reminder_ids=ids, claim_token=f"bench-{ids[0]}")
    seconds = time.perf_counter() - started
    received = stop_sink(sink)
    marked = Reminder.objects.filter(pk__in=ids, state="sent").count()
    return seconds, received, marked, outcome.messages


def time_raw(sender, prepared, port):
    sink = start_sink(port)
    started = time.perf_counter()
    smtp = smtplib.SMTP("127.0.0.1", port)
    for recipient, data in prepared:
        smtp.sendmail(sender, [recipient], data)
    smtp.quit()
    seconds = time.perf_counter() - started
    return seconds, stop_sink(sink)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="Alternate service and raw this many times; medians.")
    parser.add_argument("--database-url", help="A scratch database (default: a new SQLite file in a temp folder).")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    scratch = tempfile.mkdtemp(prefix="bench-reminders-")
    port = free_port()
    setup_django(args.database_url or f"sqlite:///{scratch}/bench.sqlite3", port)
    from django.db import connection

    service_times, raw_times, problems = [], [], []
    for round_number in range(1, args.rounds + 1):
        ids = make_reminders(args.count)
        sender, prepared = raw_messages(ids)
        seconds, received, marked, messages = time_service(ids, port)
        service_times.append(seconds)
        if not (received == marked == messages == args.count):
            problems.append(f"round {round_number}: service sent {messages}, sink got {received}, marked {marked}")
        seconds, received = time_raw(sender, prepared, port)
        raw_times.append(seconds)
        if received != args.count:
            problems.append(f"round {round_number}: raw sink got {received}")
        print(
            f"round {round_number}: service {service_times[-1]:6.2f} s, raw {raw_times[-1]:6.2f} s, "
            f"ratio {raw_times[-1] / service_times[-1]:.2f}",
            flush=True,
        )

    service_seconds, raw_seconds = statistics.median(service_times), statistics.median(raw_times)
    service_rate, raw_rate = args.count / service_seconds, args.count / raw_seconds
    # The target is a ratio within one round: the median of the rounds' ratios.
    ratio = statistics.median(raw / service for raw, service in zip(raw_times, service_times, strict=True))
    print(
        f"Reminders: {args.count:,} per round, one email each, {args.rounds} round(s), medians; "
        f"database: {connection.vendor}; sink: aiosmtpd on 127.0.0.1 in its own process; {os.cpu_count()} cores; "
        f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"service (reminders_send_batch): {service_seconds:7.2f} s  {service_rate:8.0f} emails/s")
    print(f"raw smtplib, one connection:    {raw_seconds:7.2f} s  {raw_rate:8.0f} emails/s")
    verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
    print(f"ratio service/raw: {ratio:.2f} (target at least {TARGET_RATIO}): {verdict}")
    for problem in problems:
        print("ERROR:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
