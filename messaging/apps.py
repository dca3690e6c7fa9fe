from django.apps import AppConfig

from tracker.metrics import register_scrape_collector
from tracker.watching import watch


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        # Only once the app registry is ready: these modules import models. `tasks` registers the
        # Celery tasks the services queue by name (in a web process nothing else imports it).
        from . import personal_data, receivers, tasks  # noqa: F401
        from .metrics import OutboxCollector  # this one too: it counts the outbox's rows

        personal_data.register()
        receivers.connect()
        register_scrape_collector(OutboxCollector())
        # Notifications and report links appear on cached pages (tracker/caching.py); reminders do not.
        watch("messaging", unwatched=["messaging.Reminder"])
