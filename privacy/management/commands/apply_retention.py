from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from privacy.models import RetentionRun
from privacy.retention import retention_apply, schedule


class Command(BaseCommand):
    help = "Apply the retention schedule now (the daily job does the same); --dry-run says what it would remove."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Do the whole run and roll it back: the counts are what a real run would remove now.",
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        run = retention_apply(trigger=RetentionRun.Trigger.COMMAND, dry_run=dry_run)
        self.stdout.write("Dry run: nothing was removed. A run now would remove:" if dry_run else "Removed:")
        for rule, period, cutoff in schedule(run.started_at):
            if cutoff is None:
                self.stdout.write(f"  {rule.title}: off (keep for ever)")
                continue
            unit = rule.unit if period != 1 else rule.unit.rstrip("s")
            when = f"older than {period} {unit}" if period else "expired"
            self.stdout.write(f"  {rule.title} ({when}): {run.removed.get(rule.key, 0)}")
