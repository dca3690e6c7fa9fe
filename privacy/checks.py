from typing import Any

from django.conf import settings
from django.core import checks

from messaging.models import ReportLink

from .retention import RULES


def check_retention_settings(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every period is a whole number, 0 (keep for ever) or more; report links outlive their 14 days of use."""
    errors: list[checks.CheckMessage] = []
    for rule in RULES:
        if rule.setting is None:
            continue
        value = getattr(settings, rule.setting)
        if not isinstance(value, int) or value < 0:
            errors.append(
                checks.Error(f"{rule.setting} must be 0 (keep for ever) or a number of {rule.unit}.", id="privacy.E001")
            )
    links = settings.RETENTION_REPORT_LINK_DAYS
    if isinstance(links, int) and 0 < links < ReportLink.VALID_FOR_DAYS:
        errors.append(
            checks.Error(
                f"RETENTION_REPORT_LINK_DAYS must be 0 or at least {ReportLink.VALID_FOR_DAYS}: "
                "a link works for that long after it is sent.",
                id="privacy.E002",
            )
        )
    return errors
