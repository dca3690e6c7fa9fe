from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and data feeds"

    def ready(self):
        from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
        from .services import register_notices

        register_notices()
