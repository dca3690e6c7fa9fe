from django.apps import AppConfig


class PrioritiesConfig(AppConfig):
    name = "priorities"
    verbose_name = "Plan and actions"

    def ready(self):
        from . import personal_data

        personal_data.register()
