from django.apps import AppConfig

from tracker.watching import watch


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = "Success indicators"

    def ready(self):
        # Only once the app registry is ready: these modules import models.
        from . import personal_data  # it imports models
        from .filters import add_indicator_filter  # this one too: the filters module imports models

        add_indicator_filter()
        personal_data.register()
        # The dashboard and the register show indicators (cached: tracker/caching.py); an import's stored
        # file is on no cached page. Indicators fill the register's filter.
        watch(
            "indicators",
            unwatched=["indicators.MeasurementImport"],
            choice_models=["indicators.SuccessIndicator"],
        )
