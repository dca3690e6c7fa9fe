from django.apps import AppConfig, apps


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Users and organisations"

    def ready(self):
        # Only once the app registry is ready: both connect receivers to models' signals (security: the
        # sign-in log's), and caching imports the models.
        from . import caching, security  # noqa: F401

        caching.connect(apps)
