"""The indicators' part of a person's data (tracker.personal_data): values they recorded, reported or decided."""

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from tracker.models import User
from tracker.personal_data import display_name, register_export

from .models import IndicatorChange, Measurement, MeasurementImport, MeasurementSubmission, SuccessIndicator


def _name(user: User | None) -> str:
    return display_name(user) if user is not None else ""


def _measurements(person: User) -> Iterator[dict[str, Any]]:
    for measurement in Measurement.objects.filter(recorded_by=person).select_related("measure").order_by("recorded_at"):
        yield {
            "measure": measurement.measure.name,
            "period_start": measurement.period_start,
            "period_end": measurement.period_end,
            "value": measurement.value,
            "text_value": measurement.text_value,
            "source": measurement.source,
            "note": measurement.note,
            "recorded_at": measurement.recorded_at,
        }


def _submissions(person: User) -> Iterator[dict[str, Any]]:
    submissions = MeasurementSubmission.objects.filter(Q(submitted_by=person) | Q(decided_by=person)).select_related(
        "measure", "organisation", "submitted_by", "decided_by"
    )
    for submission in submissions.order_by("submitted_at", "pk"):
        yield {
            "their_part": "submitted" if submission.submitted_by_id == person.pk else "decided",
            "measure": submission.measure.name,
            "organisation": submission.organisation.name,
            "submitted_by": _name(submission.submitted_by),
            "submitted_at": submission.submitted_at,
            "period_start": submission.period_start,
            "period_end": submission.period_end,
            "value": submission.value,
            "text_value": submission.text_value,
            "source": submission.source,
            "note": submission.note,
            "state": submission.get_state_display(),
            "decided_by": _name(submission.decided_by),
            "decided_at": submission.decided_at,
            "return_reason": submission.return_reason,
        }


def _changes(person: User) -> Iterator[dict[str, Any]]:
    changes = IndicatorChange.objects.filter(changed_by=person).select_related("indicator")
    for change in changes.order_by("changed_at", "pk"):
        yield {
            "indicator": change.indicator.code,
            "what": change.subject,
            "at": change.changed_at,
            "field": change.field_label,
            "old_value": change.old_value,
            "new_value": change.new_value,
            "via": change.via,
        }
    for indicator in SuccessIndicator.objects.filter(archived_by=person):
        yield {
            "indicator": indicator.code,
            "what": "Indicator",
            "at": indicator.archived_at,
            "field": "Archived (still)",
            "old_value": "",
            "new_value": "",
            "via": "web",
        }


def _imports(person: User) -> Iterator[dict[str, Any]]:
    for upload in MeasurementImport.objects.filter(uploaded_by=person).order_by("uploaded_at"):
        yield {
            "file": upload.filename,
            "uploaded_at": upload.uploaded_at,
            "confirmed_at": upload.confirmed_at,
            "rows_written": upload.rows_written,
        }


def register() -> None:
    """The indicators' parts (called from IndicatorsConfig.ready()); nothing here writes a person's name as text."""
    register_export(
        name="measurements",
        title="Indicator values they recorded",
        models=["indicators.Measurement"],
        rows=_measurements,
    )
    register_export(
        name="measurement_submissions",
        title="Indicator values they reported, and reports they decided",
        models=["indicators.MeasurementSubmission"],
        rows=_submissions,
    )
    register_export(
        name="indicator_changes",
        title="Changes they made to indicators and their measures",
        models=["indicators.IndicatorChange", "indicators.SuccessIndicator"],
        rows=_changes,
    )
    register_export(
        name="measurement_imports",
        title="Measurement files they uploaded",
        models=["indicators.MeasurementImport"],
        rows=_imports,
    )
