from django.apps import AppConfig

from tracker.people import add_person_section


class PrivacyConfig(AppConfig):
    """A person's data (download, anonymise) and the retention schedule: personal data as UK GDPR expects."""

    name = "privacy"
    verbose_name = "Personal data and retention"

    def ready(self) -> None:
        from django.core import checks

        from . import person_section, personal_data
        from .checks import check_retention_settings

        checks.register(check_retention_settings)
        personal_data.register()
        add_person_section(template="privacy/person_section.html", context=person_section.context, order=10)
