import datetime

from django import template

register = template.Library()


@register.filter
def iso_date(value):
    """An ISO 8601 date (as the open data holds it) the way people read it: 2 December 2026."""
    if not value:
        return ""
    return datetime.date.fromisoformat(str(value)[:10]).strftime("%-d %B %Y")
