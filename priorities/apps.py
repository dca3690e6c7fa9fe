from django.apps import AppConfig

from tracker.metrics import register_scrape_collector
from tracker.watching import watch


class PrioritiesConfig(AppConfig):
    name = "priorities"
    verbose_name = "Plan and actions"

    def ready(self):
        # Only once the app registry is ready: these modules import models.
        from . import personal_data  # it imports models
        from .metrics import OutboxCollector  # this one too: it counts the outbox's rows

        personal_data.register()
        register_scrape_collector(OutboxCollector())
        # The register and the dashboard are cached until the plan changes (tracker/caching.py); reminders
        # are not on them. The plan's outline and partnerships fill the register's filters.
        watch(
            "priorities",
            unwatched=["priorities.Reminder"],
            choice_models=[
                "priorities.Plan",
                "priorities.Priority",
                "priorities.Objective",
                "priorities.ActionPartner",
            ],
        )
