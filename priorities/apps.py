from django.apps import AppConfig

from tracker.metrics import register_scrape_collector


class PrioritiesConfig(AppConfig):
    name = "priorities"
    verbose_name = "Plan and actions"

    def ready(self):
        from .metrics import OutboxCollector

        register_scrape_collector(OutboxCollector())
