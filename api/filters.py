"""The API's filters: the register's (plan, priority, objective, status, partner, overdue) and "changed since".

Ids are plain numbers: an id that names nothing, or something you may not see, filters to nothing,
because every list starts from the same `visible_to(user)` QuerySet as the pages.
"""

import datetime
from typing import Any, TypeVar

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from drf_spectacular.utils import extend_schema_field

from indicators.models import Measure, Measurement, MeasurementSubmission, SuccessIndicator
from messaging.models import Reminder
from priorities.models import Action, ActionQuerySet, Objective, Priority, ProgressUpdate, Status, Submission

MAX_ID = 2**63 - 1  # a bigint: a larger number could only be a mistake, and the database refuses it

_QS = TypeVar("_QS", bound=QuerySet[Any])


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An id: a whole number from 1 (a refused value is a 400 that names the parameter)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.Field):
    """true or false (1 or 0); anything else is refused rather than read as "no filter"."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Give true or false.")


@extend_schema_field({"type": "boolean"})
class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class ChangedSinceField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date and time, as UTC, between 1900 and 2999: a database refuses some offsets and years
    Python accepts (PostgreSQL: a "-20:03" offset, year 50), and no change happened outside these."""

    def to_python(self, value: Any) -> datetime.datetime | None:
        value = super().to_python(value)
        if value is None:
            return None
        try:
            value = value.astimezone(datetime.UTC)
        except (OverflowError, ValueError):
            value = None
        if value is None or not 1900 <= value.year <= 2999:
            raise forms.ValidationError("Give a date and time between the years 1900 and 2999.")
        return value


class ChangedSince(django_filters.IsoDateTimeFilter):
    """Items changed at or after an ISO 8601 date and time (e.g. 2026-01-31T09:00:00Z), for incremental loads."""

    field_class = ChangedSinceField

    def __init__(self, field_name: str, **kwargs: Any) -> None:
        kwargs.setdefault("lookup_expr", "gte")
        kwargs.setdefault("label", "Changed at or after this ISO 8601 date and time.")
        super().__init__(field_name=field_name, **kwargs)


class PriorityFilter(django_filters.FilterSet):
    plan = IdFilter(field_name="plan_id", label="The plan's id.")

    class Meta:
        model = Priority
        fields = ["plan"]


class ObjectiveFilter(django_filters.FilterSet):
    plan = IdFilter(field_name="priority__plan_id", label="The plan's id.")
    priority = IdFilter(field_name="priority_id", label="The priority's id.")

    class Meta:
        model = Objective
        fields = ["plan", "priority"]


class ActionFilter(django_filters.FilterSet):
    """As the register filters: `status` may be given more than once (`status=at_risk&status=off_track`)."""

    q = django_filters.CharFilter(method="search", label="Code, title or description contains this.", max_length=200)
    plan = IdFilter(field_name="objective__priority__plan_id", label="The plan's id.")
    priority = IdFilter(field_name="objective__priority_id", label="The priority's id.")
    objective = IdFilter(field_name="objective_id", label="The objective's id.")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label="The action's status.")
    partner = IdFilter(method="filter_partner", label="The id of an organisation that partners the action.")
    overdue = StrictBooleanFilter(
        method="filter_overdue",
        label="true: only actions whose next update is overdue (for a partner, not while their report awaits review).",
    )
    changed_since = ChangedSince("updated_at")

    class Meta:
        model = Action
        fields = ["q", "plan", "priority", "objective", "status", "partner", "overdue", "changed_since"]

    def search(self, queryset: ActionQuerySet, name: str, value: str) -> ActionQuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(title__icontains=value) | Q(description__icontains=value))

    def filter_partner(self, queryset: ActionQuerySet, name: str, value: int) -> ActionQuerySet:
        return queryset.filter(partnerships__organisation_id=value)

    def filter_overdue(self, queryset: ActionQuerySet, name: str, value: bool | None) -> ActionQuerySet:
        """The register's rule (priorities.filters.ActionFilter.filter_overdue); false leaves the list whole."""
        if not value:
            return queryset
        user = self.request.user
        if user.role == user.Role.PARTNER:
            return queryset.overdue().awaiting_review(user, awaiting=False)
        return queryset.overdue()


class StatusHistoryFilter(django_filters.FilterSet):
    action = IdFilter(field_name="action_id", label="The action's id.")
    organisation = IdFilter(field_name="organisation_id", label="The id of the partner organisation that reported it.")
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, label="The status it recorded.")
    changed_since = ChangedSince("created_at", label="Recorded at or after this ISO 8601 date and time.")

    class Meta:
        model = ProgressUpdate
        fields = ["action", "organisation", "status", "changed_since"]


class IndicatorFilter(django_filters.FilterSet):
    plan = IdFilter(field_name="plan_id", label="The plan's id.")
    action = IdFilter(field_name="actions", label="The id of a linked action.")

    class Meta:
        model = SuccessIndicator
        fields = ["plan", "action"]


class MeasureFilter(django_filters.FilterSet):
    plan = IdFilter(field_name="indicator__plan_id", label="The plan's id.")
    indicator = IdFilter(field_name="indicator_id", label="The indicator's id.")
    reporting_organisation = IdFilter(field_name="reporting_organisation_id", label="The reporting organisation's id.")

    class Meta:
        model = Measure
        fields = ["plan", "indicator", "reporting_organisation"]


class MeasurementFilter(django_filters.FilterSet):
    measure = IdFilter(field_name="measure_id", label="The measure's id.")
    indicator = IdFilter(field_name="measure__indicator_id", label="The indicator's id.")
    changed_since = ChangedSince("recorded_at", label="Recorded at or after this ISO 8601 date and time.")

    class Meta:
        model = Measurement
        fields = ["measure", "indicator", "changed_since"]


class _DecidedSince(django_filters.FilterSet):
    changed_since = ChangedSince("submitted_at", method="filter_changed", label="Submitted or decided at or after.")

    def filter_changed(self, queryset: _QS, name: str, value: datetime.datetime) -> _QS:
        return queryset.filter(Q(submitted_at__gte=value) | Q(decided_at__gte=value))


class SubmissionFilter(_DecidedSince):
    action = IdFilter(field_name="action_id", label="The action's id.")
    organisation = IdFilter(field_name="organisation_id", label="The reporting organisation's id.")
    state = django_filters.ChoiceFilter(choices=Submission.State.choices, label="Waiting, accepted or returned.")

    class Meta:
        model = Submission
        fields = ["action", "organisation", "state", "changed_since"]


class ValueSubmissionFilter(_DecidedSince):
    measure = IdFilter(field_name="measure_id", label="The measure's id.")
    organisation = IdFilter(field_name="organisation_id", label="The reporting organisation's id.")
    state = django_filters.ChoiceFilter(choices=MeasurementSubmission.State.choices, label="The review state.")

    class Meta:
        model = MeasurementSubmission
        fields = ["measure", "organisation", "state", "changed_since"]


class ReminderFilter(django_filters.FilterSet):
    action = IdFilter(field_name="action_id", label="The action's id.")
    organisation = IdFilter(field_name="organisation_id", label="The organisation's id.")
    kind = django_filters.ChoiceFilter(choices=Reminder.Kind.choices)
    state = django_filters.ChoiceFilter(choices=Reminder.State.choices)
    changed_since = ChangedSince("created_at", label="Written at or after this ISO 8601 date and time.")

    class Meta:
        model = Reminder
        fields = ["action", "organisation", "kind", "state", "changed_since"]
