"""Check (and with --fix, set) the counts the services keep: last reports, actions per objective and status."""

from django.core.management.base import BaseCommand, CommandError

from priorities.models import ActionPartner, ObjectiveStatusCount
from priorities.services import stored_counts_refresh


class Command(BaseCommand):
    help = (
        "Compare the stored counts (ActionPartner.last_reported_at, ObjectiveStatusCount) with the rows they "
        "count; exits 1 on a difference. --fix sets them from the rows (after a loaddata or a bulk load)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Set every stored count from the rows.")

    def handle(self, *args, fix=False, **options):
        if fix:
            stored_counts_refresh()
        reporting = ActionPartner.objects.reporting_differences()
        statuses = ObjectiveStatusCount.objects.differences()
        for pk, stored_at, computed_at in reporting[:20]:
            self.stdout.write(f"Partnership {pk}: last reported {stored_at} stored, {computed_at} from its reports")
        for objective_id, status, stored, computed in statuses[:20]:
            self.stdout.write(f"Objective {objective_id}, {status}: {stored} stored, {computed} counted")
        if reporting or statuses:
            raise CommandError(
                f"{len(reporting)} partnership(s) and {len(statuses)} objective status count(s) differ from their "
                "rows: run `manage.py check_stored_counts --fix`."
            )
        self.stdout.write(self.style.SUCCESS("Stored counts agree with the rows."))
