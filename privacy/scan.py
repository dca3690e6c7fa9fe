"""Where a person is still named: every text column of every model, searched for their name, email and username.

Generic over Django's app registry, so a model added later is searched without being listed here. Used by
anonymisation, inside its transaction: after the apps have rewritten what they themselves wrote, whatever
still names the person is human-written text (a note naming themselves), recorded as RemainingMention
(where, never what) for the secretariat.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Q, TextField
from django.db.models.functions import Cast

TEXT_FIELDS = (
    models.CharField,  # EmailField, SlugField, URLField ... are CharFields
    models.TextField,
    models.JSONField,
)
# Stored in an encoding no text search reads (sessions are signed and compressed): handled by their app.
SKIPPED_MODELS = {"sessions.session"}
MAX_MENTIONS = 1000


@dataclass(frozen=True)
class Mention:
    model: str  # "app_label.ModelName"
    object_pk: str
    field: str


def text_columns() -> Iterator[tuple[type[models.Model], models.Field[Any, Any]]]:
    """(model, field) for every concrete text column of every installed model."""
    for model in apps.get_models(include_auto_created=True):
        if model._meta.label_lower in SKIPPED_MODELS or model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, TEXT_FIELDS) and not field.primary_key:
                yield model, field


def _pattern(terms: Iterable[str]) -> re.Pattern[str]:
    # Whole words or addresses only: a username "ann" is not found in "planning".
    alternatives = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    return re.compile(r"(?<![\w.@-])(?:" + alternatives + r")(?![\w@-]|\.\w)", re.IGNORECASE)


def find_mentions(terms: Iterable[str], *, limit: int = MAX_MENTIONS) -> list[Mention]:
    """Every (model, row, column) whose text holds one of `terms` as a word, case-insensitively; at most `limit`."""
    terms = [term for term in terms if term]
    if not terms:
        return []
    pattern = _pattern(terms)
    found = []
    for model, field in text_columns():
        column = field.attname
        queryset = model._default_manager.all()
        if isinstance(field, models.JSONField):
            queryset = queryset.annotate(_scanned=Cast(column, TextField()))
            column = "_scanned"
        candidates = Q()
        for term in terms:
            candidates |= Q(**{f"{column}__icontains": term})
        for pk, value in queryset.filter(candidates).values_list("pk", column).iterator():
            if value is not None and pattern.search(str(value)):
                found.append(Mention(model=model._meta.label, object_pk=str(pk), field=field.name))
                if len(found) >= limit:
                    return found
    return found
