"""Run the daily reminders job here and now, without a worker: the same service beat's task calls."""

import argparse
import datetime
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from messaging.models import Reminder
from messaging.reminders import Held, HeldLine, reminders_run_daily

NOT_SENT: dict[str, str] = {
    Reminder.State.SKIPPED: "the organisation has submitted progress since",
    Reminder.State.ARCHIVED: "the action has been archived since",
}


def iso_date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}.") from exc


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def day(value: datetime.date) -> str:
    return f"{value:%A %-d %B %Y}"


class Command(BaseCommand):
    help = (
        "Write the progress reminders owed today and send them now; prints who gets what, and which partner "
        "reminders are not sent today and why."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Run the job in a transaction that is rolled back, sending nothing: the same report, nothing kept.",
        )
        parser.add_argument("--date", type=str, help="Work as if today were this date (YYYY-MM-DD).")

    def handle(self, *args: Any, dry_run: bool = False, date: str | None = None, **options: Any) -> None:
        today = iso_date(date) if date else timezone.localdate()
        summary = reminders_run_daily(today=today, dry_run=dry_run, send_now=True)
        self.stdout.write(f"Reminders for {day(today)}{' (dry run)' if dry_run else ''}:")
        for email, owed in summary.recipients.items():
            labels = list(owed["actions"].values())
            self.stdout.write(
                f"  {email}: {plural(len(labels), 'action')} ({', '.join(labels)}); {', '.join(sorted(owed['kinds']))}"
            )
        if summary.links:
            self.stdout.write("Links to report without signing in (each digest's own link is made when it is sent):")
            for email, urls in summary.links.items():
                for url in urls:
                    self.stdout.write(f"  {email}: {url}")
        verb = "Would write" if dry_run else "Wrote"
        self.stdout.write(f"{verb} {summary.written} reminder(s) for {len(summary.recipients)} recipient(s).")
        outcome = summary.outcome
        if outcome is None:  # a run with send_now=True always sends (or, dry, pretends to)
            raise CommandError("The reminders job did not send: nothing to report.")
        if dry_run:
            self.stdout.write(
                f"Would send {outcome.messages} email(s) covering {len(outcome.sent_ids)} reminder(s) "
                "(nothing was sent or kept)."
            )
        else:
            self.stdout.write(
                f"Sent {outcome.messages} email(s) covering {len(outcome.sent_ids)} reminder(s); "
                f"{len(outcome.failed_ids)} failed; {len(outcome.retry_ids)} left pending for the next run."
            )
        for state, count in summary.not_sent.items():
            self.stdout.write(f"Not sent after all: {plural(count, 'reminder')} written earlier ({NOT_SENT[state]}).")
        self.write_held(summary.held)

    def write_held(self, held: Sequence[HeldLine]) -> None:
        no_contact = [line for line in held if line.held is Held.NO_CONTACT]
        if no_contact:
            self.stdout.write(f"Skipped {len(no_contact)} organisation(s) owed a reminder that nobody would receive:")
            for line in no_contact:
                noun = "action" if len(line.actions) == 1 else "actions"
                self.stdout.write(f"  {line.organisation}: {line.held.value}; {noun} {', '.join(line.actions)}")
        others = [line for line in held if line.held is not Held.NO_CONTACT]
        if others:
            self.stdout.write("Partner reminders not sent today, and why:")
            for line in others:
                why = line.held.value
                if line.held is Held.NOT_DUE_AGAIN and line.last_on and line.next_on:
                    why = f"reminded on {day(line.last_on)}; next reminder on {day(line.next_on)} if still not reported"
                who = f"{line.organisation}: " if line.organisation else ""
                self.stdout.write(f"  {who}{', '.join(line.actions)}: {why}")
