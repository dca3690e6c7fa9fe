from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and data feeds"

    def ready(self):
        from tracker.accounts import account_notice_register

        from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
        from .services import NOTICES

        for event, subject in NOTICES.items():
            account_notice_register(event, subject)
