from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "indicators"
    verbose_name = "Success indicators"

    def ready(self):
        from . import personal_data
        from .filters import add_indicator_filter

        add_indicator_filter()
        personal_data.register()
