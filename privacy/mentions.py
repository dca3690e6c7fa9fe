"""Remaining mentions as the secretariat reads them: which row and column, its text now, where to see the row.

Read in one query per model on the page, whatever the number of mentions.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst

if TYPE_CHECKING:
    from privacy.models import RemainingMention


@dataclass
class DescribedMention:
    mention: "RemainingMention"
    label: str  # "Progress update #12: note"
    text: str | None  # None: the row (or its column) is gone
    row_url: str  # the row's own page if it has one (or its action's), else its page in the admin, else ""

    @property
    def pk(self) -> int:
        return self.mention.pk


def _text(row: models.Model, field: models.Field[Any, Any]) -> Any:
    value = getattr(row, field.attname)
    if value is not None and isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return value


def _row_url(model: type[models.Model], row: models.Model) -> str:
    for candidate in (row, getattr(row, "action", None)):
        if candidate is not None and hasattr(candidate, "get_absolute_url"):
            try:
                return candidate.get_absolute_url()
            except NoReverseMatch:
                break
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[row.pk])
    except NoReverseMatch:
        return ""


def describe_all(mentions: Iterable["RemainingMention"]) -> list[DescribedMention]:
    """[DescribedMention] for `mentions`, in their order."""
    by_model = defaultdict(list)
    for mention in mentions:
        by_model[mention.model].append(mention)
    rows: dict[str, tuple[type[models.Model] | None, dict[str, Any]]] = {}
    for label, group in by_model.items():
        model: type[models.Model] | None
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        assert model is not None
        queryset = model._default_manager.filter(pk__in=[m.object_pk for m in group])
        if any(f.name == "action" and f.many_to_one for f in model._meta.get_fields()):
            queryset = queryset.select_related("action")
        rows[label] = (model, {str(row.pk): row for row in queryset})
    described = []
    for mention in mentions:
        model, found = rows.get(mention.model, (None, {}))
        row = found.get(mention.object_pk)
        try:
            field = model._meta.get_field(mention.field) if model is not None else None
        except LookupError:
            field = None
        if model is None or not isinstance(field, models.Field):
            described.append(DescribedMention(mention, f"{mention.model} #{mention.object_pk}", None, ""))
            continue
        label = f"{capfirst(model._meta.verbose_name)} #{mention.object_pk}: {field.verbose_name}"
        text = _text(row, field) if row is not None else None
        described.append(DescribedMention(mention, label, text, _row_url(model, row) if row is not None else ""))
    return described


def describe(mention: "RemainingMention") -> DescribedMention:
    return describe_all([mention])[0]
