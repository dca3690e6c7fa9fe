from django.apps import AppConfig

from tracker.watching import watch


class PrioritiesConfig(AppConfig):
    name = "priorities"
    verbose_name = "Plan and actions"

    def ready(self):
        # Only once the app registry is ready: this module imports models.
        from . import personal_data

        personal_data.register()
        # The register and the dashboard are cached until the plan changes (tracker/caching.py). The plan's
        # outline and partnerships fill the register's filters.
        watch(
            "priorities",
            choice_models=[
                "priorities.Plan",
                "priorities.Priority",
                "priorities.Objective",
                "priorities.ActionPartner",
            ],
        )
