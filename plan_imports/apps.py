from django.apps import AppConfig


class PlanImportsConfig(AppConfig):
    name = "plan_imports"
    verbose_name = "Plan imports"

    def ready(self) -> None:
        # Only once the app registry is ready: it imports the models.
        from . import personal_data

        personal_data.register()
