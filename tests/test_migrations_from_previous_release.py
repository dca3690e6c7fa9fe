"""Upgrading from the previous release keeps every row: a database at that release's migrations, one row in
every table of our apps, migrated forward to the latest migrations, where the current models read each row.

Generic on purpose: it fills whatever models the previous release's state has and checks whatever current
models map those tables, so moving a model to another app (a state-only migration that keeps its table)
needs no change here. Only PREVIOUS_RELEASE moves, at each release.
"""

import datetime
import decimal
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps as current_apps
from django.apps.registry import Apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor

# Every app's leaf migration in the previous release (main at d555b00), from `manage.py showmigrations`.
PREVIOUS_RELEASE = [
    ("api", "0001_initial"),
    ("audit", "0001_initial"),
    ("indicators", "0007_archive_indicators"),
    ("priorities", "0018_plan_choice_forget_visits"),
    ("privacy", "0001_initial"),
    ("tracker", "0007_request_count_site_pages"),
]

WHEN = datetime.datetime(2025, 4, 1, 9, 30, tzinfo=datetime.UTC)


def our_app_labels() -> set[str]:
    """The project's own apps: the packages at the repository's root (not the libraries in site-packages)."""
    return {config.label for config in current_apps.get_app_configs() if Path(config.path).parent == settings.BASE_DIR}


def latest_migrations(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return executor.loader.graph.leaf_nodes()


def check_constraints(model: type[models.Model]) -> list[models.CheckConstraint]:
    return [c for c in model._meta.constraints if isinstance(c, models.CheckConstraint)]


def constrained_fields(model: type[models.Model]) -> set[str]:
    """The fields the model's check constraints name."""
    names: set[str] = set()
    for check in check_constraints(model):
        assert isinstance(check.condition, models.Q), f"{model._meta.label}: {check.name} is not a Q"
        names |= check.condition.referenced_base_fields
    return names


class TableFiller:
    """Creates one row in each model of a historical state, targets of foreign keys first."""

    def __init__(self, state_apps: Apps) -> None:
        self.apps = state_apps
        self.rows: dict[type[models.Model], models.Model] = {}
        self.counter = itertools.count(1)

    def fill(self, wanted: list[type[models.Model]]) -> dict[type[models.Model], models.Model]:
        for model in wanted:
            self.row_for(model, chain=())
        for model in wanted:
            self.link_optional(model)
        return self.rows

    def link_optional(self, model: type[models.Model]) -> None:
        """Points each optional foreign key at the row made for its target, where the check constraints allow."""
        row = self.rows[model]
        checks = check_constraints(model)
        for field in model._meta.concrete_fields:
            if not (field.is_relation and field.null) or getattr(row, field.attname) is not None:
                continue
            target = self.rows.get(field.related_model)  # type: ignore[arg-type]  # a concrete relation's model
            if target is None:
                continue
            setattr(row, field.name, target)
            try:
                for check in checks:
                    check.validate(model, row)
            except ValidationError:
                setattr(row, field.name, None)
                continue
            row.save(update_fields=[field.name])

    def row_for(self, model: type[models.Model], chain: tuple[type[models.Model], ...]) -> models.Model:
        if model in self.rows:
            return self.rows[model]
        if model in chain:
            raise AssertionError(f"A cycle of required foreign keys: {' -> '.join(m._meta.label for m in chain)}")
        # A row the migrations or the signals of saving others made (the data generation's one row) will do.
        existing = model._base_manager.order_by("pk").first()
        if existing is not None:
            self.rows[model] = existing
            return existing
        constrained = constrained_fields(model)
        values: dict[str, list[Any]] = {}
        for field in model._meta.concrete_fields:
            choices = self.values_for(field, chain + (model,), constrained=field.name in constrained)
            if choices is not None:
                values[field.name] = choices
        row = self.save_first_valid(model, values)
        self.rows[model] = row
        return row

    def values_for(
        self, field: models.Field[Any, Any], chain: tuple[type[models.Model], ...], *, constrained: bool
    ) -> list[Any] | None:
        """The values to try for this field, best first; None leaves it to its default or the database.

        A field a check constraint names gets alternatives (its other choices, the other boolean, empty, null).
        """
        if isinstance(field, models.AutoField):
            return None
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return None
        if field.has_default() and not field.primary_key:
            return self.alternatives(field, field.get_default()) if constrained else None
        if field.is_relation:
            target = field.related_model
            assert isinstance(target, type) and issubclass(target, models.Model)
            if field.null:
                # Optional links are made after every row exists (link_optional): they may go round in circles.
                # One a check constraint names is tried now, where its target does not lead back here.
                return [self.row_for(target, chain), None] if constrained and target not in chain else [None]
            return [self.row_for(target, chain)]
        return self.alternatives(field, self.value_for(field)) if constrained else [self.value_for(field)]

    @staticmethod
    def alternatives(field: models.Field[Any, Any], value: Any) -> list[Any]:
        tries = [value]
        if field.choices:
            tries += [choice for choice, _label in field.flatchoices if choice != value]
        if isinstance(field, models.BooleanField):
            tries.append(not value)
        if isinstance(field, models.CharField | models.TextField) and not field.choices:
            tries.append("")
        if field.null:
            tries.append(None)
        return tries

    def value_for(self, field: models.Field[Any, Any]) -> Any:
        n = next(self.counter)
        if field.choices:
            return field.flatchoices[0][0]
        if isinstance(field, models.EmailField):
            return f"person{n}@example.org"
        if isinstance(field, models.URLField):
            return f"https://example.org/{n}"
        if isinstance(field, models.GenericIPAddressField):
            return "192.0.2.1"
        if isinstance(field, models.UUIDField):
            return uuid.uuid4()
        if isinstance(field, models.BooleanField):
            return True
        if isinstance(field, models.DateTimeField):
            return WHEN
        if isinstance(field, models.DateField):
            return WHEN.date()
        if isinstance(field, models.TimeField):
            return WHEN.time()
        if isinstance(field, models.DurationField):
            return datetime.timedelta(days=1)
        if isinstance(field, models.DecimalField):
            return decimal.Decimal(1)
        if isinstance(field, models.FloatField):
            return 1.5
        if isinstance(field, models.IntegerField):
            return n
        if isinstance(field, models.JSONField):
            return {"kept": n}
        if isinstance(field, models.BinaryField):
            return b"kept"
        if isinstance(field, models.FileField):
            return f"kept-{n}.txt"
        if isinstance(field, models.CharField | models.TextField):
            text = f"kept-{n}"
            return text[: field.max_length] if field.max_length else text
        raise AssertionError(f"No value for {field.model._meta.label}.{field.name} ({type(field).__name__})")

    def save_first_valid(self, model: type[models.Model], values: dict[str, list[Any]]) -> models.Model:
        """Saves the first combination (in order of preference) that passes the model's check constraints."""
        checks = check_constraints(model)
        constrained = constrained_fields(model)
        fixed = {name: tries[0] for name, tries in values.items() if name not in constrained}
        varying = {name: tries for name, tries in values.items() if name in constrained}
        for combination in self.combinations(varying):
            row = model(**fixed, **combination)
            try:
                for check in checks:
                    check.validate(model, row)
            except ValidationError:
                continue
            row.save(force_insert=True)
            return row
        raise AssertionError(f"No values for {model._meta.label} pass its check constraints: {varying}")

    @staticmethod
    def combinations(varying: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
        names = list(varying)
        for values in itertools.product(*(varying[name] for name in names)):
            yield dict(zip(names, values, strict=True))


def tables_by_model(rows: dict[type[models.Model], models.Model], labels: set[str]) -> dict[str, set[Any]]:
    """The primary keys made in each table of our apps."""
    kept: dict[str, set[Any]] = {}
    for model, row in rows.items():
        if model._meta.app_label in labels:
            kept.setdefault(model._meta.db_table, set()).add(row.pk)
    return kept


@pytest.mark.django_db(transaction=True)
def test_every_row_of_the_previous_release_survives_the_migrations() -> None:
    labels = our_app_labels()
    assert {label for label, _name in PREVIOUS_RELEASE} <= labels
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(PREVIOUS_RELEASE)
        executor.loader.build_graph()
        old_apps = executor.loader.project_state(PREVIOUS_RELEASE).apps
        ours = [
            model
            for model in old_apps.get_models(include_auto_created=True)
            if model._meta.app_label in labels and model._meta.managed and not model._meta.proxy
        ]
        # Every app of ours that had migrations then is pinned: a missed one would be left at its latest.
        pinned = {label for label, _name in PREVIOUS_RELEASE}
        assert {model._meta.app_label for model in ours} == pinned
        kept = tables_by_model(TableFiller(old_apps).fill(ours), labels)
        assert len(kept) == len({model._meta.db_table for model in ours})
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest_migrations(executor))

    current: dict[str, list[type[models.Model]]] = {}
    for model in current_apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            current.setdefault(model._meta.db_table, []).append(model)
    unread = sorted(set(kept) - set(current))
    assert not unread, f"Tables of the previous release that no current model reads: {unread}"
    missing = [
        f"{model._meta.label} pk={pk}"
        for table, pks in sorted(kept.items())
        for model in current[table]
        for pk in sorted(pks, key=str)
        if model._base_manager.filter(pk=pk).count() != 1
    ]
    assert not missing, f"Rows of the previous release the current models do not find: {missing}"
    # Reading the whole row, every column the current model has, and not only its primary key.
    for table, pks in kept.items():
        for model in current[table]:
            for pk in pks:
                model._base_manager.get(pk=pk)
