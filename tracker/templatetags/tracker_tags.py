from django import forms, template
from django.utils.html import format_html

from priorities.models import STATUS_TAG_CLASSES, Status

register = template.Library()


@register.filter
def is_checkbox(bound_field):
    return isinstance(bound_field.field.widget, forms.CheckboxInput)


@register.simple_tag
def status_tag(status):
    """A coloured GOV.UK tag for an action status (value or Status member)."""
    if not status:
        return ""
    status = Status(status)
    return format_html('<strong class="govuk-tag {}">{}</strong>', STATUS_TAG_CLASSES[status], status.label)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.simple_tag
def register_link(filters, **more):
    """The action register filtered by `filters` plus `more` (dashboard numbers link to what they count)."""
    from priorities.charts import register_url

    return register_url(**{**(filters or {}), **more})
