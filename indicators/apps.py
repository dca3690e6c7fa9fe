from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = "Success indicators"

    def ready(self):
        # Only once the app registry is ready: the filters module imports models.
        from .filters import add_indicator_filter

        add_indicator_filter()
