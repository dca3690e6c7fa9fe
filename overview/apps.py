from django.apps import AppConfig


class OverviewConfig(AppConfig):
    """The pages that combine the plan and its indicators: home, dashboard, progress report, reviews."""

    name = "overview"
    verbose_name = "Overview"
