from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = "Success indicators"

    def ready(self):
        # Only once the app registry is ready: these modules import models.
        from . import personal_data
        from .filters import add_indicator_filter  # this one too: the filters module imports models

        add_indicator_filter()
        personal_data.register()
