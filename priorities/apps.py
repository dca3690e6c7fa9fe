from django.apps import AppConfig

from tracker.metrics import register_scrape_collector


class PrioritiesConfig(AppConfig):
    name = "priorities"
    verbose_name = "Plan and actions"

    def ready(self):
        # Only once the app registry is ready: these modules import models.
        from . import personal_data
        from .metrics import OutboxCollector  # this one too: it counts the outbox's rows

        personal_data.register()
        register_scrape_collector(OutboxCollector())
