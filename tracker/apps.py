from django.apps import AppConfig, apps
from django.contrib.admin import apps as admin_apps


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Users and organisations"

    def ready(self):
        # Only once the app registry is ready: these connect receivers to models' signals (security: the
        # sign-in log's), caching and metrics import the models, and personal_data registers tracker's part.
        from . import caching, metrics, personal_data, security  # noqa: F401

        caching.connect(apps)
        personal_data.register()
        metrics.register_scrape_collector(metrics.InvitationCollector())


class TrackerAdminConfig(admin_apps.AdminConfig):
    """Django's admin with Plan Tracker's site (tracker/admin_site.py): 403 for those signed in without rights."""

    default = False  # "tracker" itself is TrackerConfig; this one is named in INSTALLED_APPS

    default_site = "tracker.admin_site.TrackerAdminSite"
