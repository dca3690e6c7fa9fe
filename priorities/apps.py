from django.apps import AppConfig


class PrioritiesConfig(AppConfig):
    name = "priorities"
    verbose_name = "Plan and actions"

    def ready(self):
        # Only once the app registry is ready: this module imports models.
        from . import personal_data

        personal_data.register()
