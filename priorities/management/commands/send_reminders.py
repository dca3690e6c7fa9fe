"""Run the daily reminders job here and now, without a worker: the same service beat's task calls."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from priorities.reminders import organisations_without_contact, reminders_run_daily


def iso_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}.") from exc


class Command(BaseCommand):
    help = "Write the progress reminders owed today and send them now; prints who gets what."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show what would be sent; write and send nothing.")
        parser.add_argument("--date", type=str, help="Work as if today were this date (YYYY-MM-DD).")

    def handle(self, *args, dry_run=False, date=None, **options):
        today = iso_date(date) if date else timezone.localdate()
        summary = reminders_run_daily(today=today, dry_run=dry_run, send_now=not dry_run)
        verb = "Would write" if dry_run else "Wrote"
        self.stdout.write(f"Reminders for {today:%A %-d %B %Y}{' (dry run)' if dry_run else ''}:")
        for email, owed in summary.recipients.items():
            count = len(owed["actions"])
            self.stdout.write(
                f"  {email}: {count} action{'s' if count != 1 else ''} "
                f"({', '.join(sorted(owed['actions']))}); {', '.join(sorted(owed['kinds']))}"
            )
        if summary.links:
            self.stdout.write("Links to report without signing in (each digest's own link is made when it is sent):")
            for email, urls in summary.links.items():
                for url in urls:
                    self.stdout.write(f"  {email}: {url}")
        self.stdout.write(f"{verb} {summary.written} reminder(s) for {len(summary.recipients)} recipient(s).")
        skipped = organisations_without_contact(today=today)
        if skipped:
            self.stdout.write(f"Skipped {len(skipped)} organisation(s) owed a reminder that nobody would receive:")
            for organisation, codes in skipped.items():
                self.stdout.write(
                    f"  {organisation.name}: no contact (no active partner user with an email, and no contact "
                    f"email on the organisation); action{'s' if len(codes) != 1 else ''} {', '.join(codes)}"
                )
        if summary.outcome is not None:
            outcome = summary.outcome
            self.stdout.write(
                f"Sent {outcome.messages} email(s) covering {len(outcome.sent_ids)} reminder(s); "
                f"{len(outcome.failed_ids)} failed; {len(outcome.retry_ids)} left pending for the next run."
            )
