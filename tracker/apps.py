from django.apps import AppConfig, apps


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Users and organisations"

    def ready(self):
        from . import caching, metrics, security  # noqa: F401  (security: the sign-in log's signal receivers)

        caching.connect(apps)
        metrics.register_scrape_collector(metrics.InvitationCollector())
