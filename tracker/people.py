"""Sections that apps above tracker add to a person's page (tracker/people_views.py).

The privacy app adds their data, retention hold and anonymisation; the audit app what they accessed.
Each calls `add_person_section` from its AppConfig.ready(), so tracker never imports them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    # Only for the annotation: apps import this module from their AppConfig, before models can load.
    from tracker.models import User

# (request, person) -> the context `template` reads as `section`.
SectionContext = Callable[[HttpRequest, "User"], dict[str, Any]]


@dataclass(frozen=True)
class PersonSection:
    template: str
    context: SectionContext
    order: int  # lower first


PERSON_SECTIONS: list[PersonSection] = []


def add_person_section(*, template: str, context: SectionContext, order: int = 100) -> None:
    """Show a section on every person's page: `template` rendered with `section` = context(request, person)."""
    PERSON_SECTIONS.append(PersonSection(template=template, context=context, order=order))
    PERSON_SECTIONS.sort(key=lambda section: section.order)
