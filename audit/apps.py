from django.apps import AppConfig

from tracker.people import add_person_section


class AuditConfig(AppConfig):
    """The record of access (downloads, reports as of a date, a person's data, sign-ins, the admin) and the
    security log, kept in the database: append-only for everyone in the product."""

    name = "audit"
    verbose_name = "Access and security log"

    def ready(self) -> None:
        from . import person_section, personal_data, receivers

        receivers.connect()
        personal_data.register()
        add_person_section(template="audit/person_section.html", context=person_section.context, order=20)
