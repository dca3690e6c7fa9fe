"""Demo accounts, a schedule for every action and a little history, so every page has something to show."""

import datetime
import os
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from indicators.models import Measure, Measurement
from priorities.models import Action, Plan, ProgressUpdate, Status, UpdateFrequency
from priorities.services import action_record_update, action_update_details
from tracker.models import Organisation, User

DEMO_ACCOUNTS = [
    # username, role, organisation slug, first name, last name
    ("secretariat", User.Role.SECRETARIAT, None, "Sam", "Secretariat"),
    ("commissioner", User.Role.COMMISSIONER, None, "Chris", "Commissioner"),
    ("partner-europol", User.Role.PARTNER, "europol", "Eva", "Europol"),
    ("partner-homeoffice", User.Role.PARTNER, "home-office", "Harry", "Home Office"),
]

# Demo progress, oldest first: (action code, days ago, status, note). All marked as demo.
DEMO_UPDATES = [
    ("5.11", 150, Status.ON_TRACK, "Demo: scoping visits agreed with two countries of origin."),
    ("5.13", 120, Status.ON_TRACK, "Demo: upstream prevention round table held with the named departments."),
    ("5.21", 100, Status.ON_TRACK, "Demo: coordination call held with the EU Anti-Trafficking Coordinator."),
    ("5.22", 95, Status.ON_TRACK, "Demo: Joint Investigation Team proposals discussed with Eurojust."),
    ("5.24", 80, Status.AT_RISK, "Demo: only three forces have signed data sharing arrangements."),
    ("5.22", 40, Status.AT_RISK, "Demo: two Joint Investigation Teams delayed while funding is agreed."),
    ("5.24", 35, Status.OFF_TRACK, "Demo: data sharing arrangements stalled pending legal advice."),
    ("5.33", 20, Status.COMPLETED, "Demo: the Group's annual conference was held and projects agreed."),
    ("5.42", 10, Status.AT_RISK, "Demo: protection guidance not yet in the humanitarian response plan."),
]

# Demo measurements: (measure name, [(year, value), ...]).
DEMO_MEASUREMENTS = [
    ("Joint Investigation Teams set up between UK police forces and European counterparts", [(2023, 4), (2024, 6)]),
    ("Intelligence and data contributions from UK law enforcement to Europol", [(2023, 1200), (2024, 1450)]),
]

FREQUENCIES = [
    UpdateFrequency.MONTHLY,
    UpdateFrequency.QUARTERLY,
    UpdateFrequency.QUARTERLY,
    UpdateFrequency.SIX_MONTHLY,
]


class Command(BaseCommand):
    help = "Create the demo accounts and give the plan a demo schedule and history (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Refusing to load demo data with DEBUG off: pass --force if you really mean it.")
        plan = Plan.objects.filter(slug="international-collaboration").first()
        if plan is None:
            raise CommandError("The plan is not loaded: run `python manage.py loaddata priority5` first.")
        password = os.environ.get("DEMO_PASSWORD", "demo")
        with transaction.atomic():
            users = self._accounts(password)
            self._schedule(plan, users["secretariat"])
            created_updates = self._history(plan, users)
            created_measurements = self._measurements(users["secretariat"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: {len(users)} accounts, {created_updates} new updates, "
                f"{created_measurements} new measurements."
            )
        )

    def _accounts(self, password):
        users = {}
        for username, role, org_slug, first, last in DEMO_ACCOUNTS:
            organisation = Organisation.objects.get(slug=org_slug) if org_slug else None
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "role": role,
                    "organisation": organisation,
                    "first_name": first,
                    "last_name": f"{last} (demo)",
                    "email": f"{username}@example.org",
                    "is_staff": role == User.Role.SECRETARIAT,
                    "is_superuser": role == User.Role.SECRETARIAT,
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            users[username] = user
        return users

    def _schedule(self, plan, owner):
        today = timezone.localdate()
        plan_start = today.replace(day=1) - datetime.timedelta(days=365)
        if plan.start_date is None:
            plan.start_date = plan_start
            plan.end_date = plan_start.replace(year=plan_start.year + 3)
            plan.save(update_fields=["start_date", "end_date", "updated_at"])
        for index, action in enumerate(Action.objects.filter(objective__priority__plan=plan).order_by("sort_key")):
            if action.update_frequency:
                continue  # already scheduled, by an earlier run or by the secretariat
            action_update_details(
                action=action,
                by=owner,
                via="demo",
                owner=owner,
                start_date=plan.start_date,
                target_date=plan.end_date,
                update_frequency=FREQUENCIES[index % len(FREQUENCIES)],
            )

    def _history(self, plan, users):
        if ProgressUpdate.objects.filter(is_demo=True, action__objective__priority__plan=plan).exists():
            return 0
        actions = {a.code: a for a in Action.objects.filter(objective__priority__plan=plan)}
        europol = users["partner-europol"]
        now = timezone.now()
        for code, days_ago, status, note in DEMO_UPDATES:
            action = actions[code]
            reported_by_europol = code in {"5.22", "5.24"} and days_ago < 50
            action_record_update(
                action=action,
                status=status,
                note=note,
                by=europol if reported_by_europol else users["secretariat"],
                organisation=europol.organisation if reported_by_europol else None,
                at=now - datetime.timedelta(days=days_ago),
                is_demo=True,
                via="demo",
            )
        return len(DEMO_UPDATES)

    def _measurements(self, by):
        created = 0
        for name, values in DEMO_MEASUREMENTS:
            measure = Measure.objects.filter(name=name).first()
            if measure is None:
                continue
            for year, value in values:
                _, was_created = Measurement.objects.get_or_create(
                    measure=measure,
                    period_start=datetime.date(year, 1, 1),
                    period_end=datetime.date(year, 12, 31),
                    defaults={
                        "value": Decimal(value),
                        "source": "Demo figure, not published data",
                        "note": "Demo: illustrative value for trying the tool.",
                        "recorded_by": by,
                        "is_demo": True,
                    },
                )
                created += was_created
        return created
