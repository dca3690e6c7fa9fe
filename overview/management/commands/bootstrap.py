from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from priorities.models import Plan
from tracker.models import User


class Command(BaseCommand):
    help = "First-run set-up for `make run`: migrate, load the plan if the database has none, demo accounts once."

    def add_arguments(self, parser):
        parser.add_argument("--no-demo", action="store_true", help="Do not create the demo accounts.")

    def handle(self, *args, no_demo=False, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if not Plan.objects.exists():
            call_command("loaddata", "priority5", verbosity=0)
            # loaddata bypasses the services: set the counts they keep (priorities.services.stored_counts_refresh).
            call_command("check_stored_counts", fix=True, stdout=self.stdout)
            self.stdout.write("Loaded the published plan (fixtures/priority5.json).")
        if not no_demo and settings.DEBUG and not User.objects.filter(username="secretariat").exists():
            call_command("load_demo", stdout=self.stdout)
