"""Template tags for the plan: status tags and links into the register."""

from django import template
from django.utils.html import format_html

from ..charts import register_url
from ..models import STATUS_TAG_CLASSES, Status

register = template.Library()


@register.simple_tag
def status_tag(status):
    """A coloured GOV.UK tag for an action status (value or Status member)."""
    if not status:
        return ""
    status = Status(status)
    return format_html('<strong class="govuk-tag {}">{}</strong>', STATUS_TAG_CLASSES[status], status.label)


@register.simple_tag
def register_link(filters, **more):
    """The action register filtered by `filters` plus `more` (dashboard numbers link to what they count)."""
    return register_url(**{**(filters or {}), **more})
