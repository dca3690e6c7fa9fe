from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API and data feeds"

    def ready(self) -> None:
        # Only once the app registry is ready: these modules import models.
        from . import personal_data, schema  # noqa: F401  (schema registers the token scheme with drf-spectacular)
        from .services import register_notices

        register_notices()
        personal_data.register()
