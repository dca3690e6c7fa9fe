from django.apps import AppConfig, apps
from django.contrib.admin import apps as admin_apps


class TrackerConfig(AppConfig):
    name = "tracker"
    verbose_name = "Users and organisations"

    def ready(self):
        # Only once the app registry is ready: both connect receivers to models' signals (security: the
        # sign-in log's), and caching imports the models.
        from . import caching, security  # noqa: F401

        caching.connect(apps)


class TrackerAdminConfig(admin_apps.AdminConfig):
    """Django's admin with Plan Tracker's site (tracker/admin_site.py): 403 for those signed in without rights."""

    default = False  # "tracker" itself is TrackerConfig; this one is named in INSTALLED_APPS

    default_site = "tracker.admin_site.TrackerAdminSite"
