import datetime

from django import forms, template
from django.utils import timezone
from django.utils.html import format_html

from tracker.forms import LongTextField

register = template.Library()


@register.filter
def is_checkbox(bound_field):
    return isinstance(bound_field.field.widget, forms.CheckboxInput)


@register.filter
def character_limit(bound_field):
    """The limit GOV.UK's character count shows for a LongTextField; None for any other field."""
    return bound_field.field.max_length if isinstance(bound_field.field, LongTextField) else None


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def html_datetime(value):
    """A date or time for a <time datetime="..."> attribute: ISO 8601, in the current time zone, to the second.

    Django's `date:'c'` writes microseconds, which HTML refuses (at most three digits of a second).
    """
    if not value:
        return ""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.isoformat(timespec="seconds")
    return value.isoformat()


VIA_NOTES = {"admin": "in the admin", "command": "by a command", "import": "by import", "demo": "demo"}


@register.simple_tag
def who(person, via="web", reported_by=None, organisation=None, accepted_by=None):
    """Who made a change, as a history shows it.

    An accepted partner report reads "Reported by <partner> (<organisation>), accepted by <secretariat>";
    otherwise the person, with where the change was made unless the web or the name already says it
    (demo accounts are called "Sam Secretariat (demo)").
    """
    if reported_by is not None and accepted_by is not None:
        if organisation:
            return format_html("Reported by {} ({}), accepted by {}", reported_by, organisation, accepted_by)
        return format_html("Reported by {}, accepted by {}", reported_by, accepted_by)
    name = str(person) if person else "Unknown"
    note = VIA_NOTES.get(via, via) if via and via not in ("web", "review") else ""
    if not note or name.endswith(f"({note})"):
        return name
    return format_html('{} <span class="govuk-hint govuk-!-font-size-16">({})</span>', name, note)
