"""Every write to indicators, measures and measurements goes through these functions.

Each is keyword-only and atomic, checks the rules before saving, and records who changed what
(old and new value) in IndicatorChange.
"""

import datetime
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from priorities.models import Action, Plan
from priorities.services import clean_return_reason, lock_pending, record_decision
from priorities.signals import report_decided, report_submitted
from tracker.caching import data_changed
from tracker.history import record_changes
from tracker.imports import ImportAlreadyConfirmed as ImportAlreadyConfirmed  # the refusals callers catch
from tracker.imports import ImportNotValid as ImportNotValid
from tracker.imports import upload_confirm, upload_store
from tracker.models import User

from .importing import ImportPreview, parse_measurements_file
from .models import IndicatorChange, Measure, Measurement, MeasurementImport, MeasurementSubmission, SuccessIndicator
from .progress import format_value, period_label

MEASURE_FIELDS = (
    "name",
    "unit",
    "direction",
    "baseline_value",
    "baseline_date",
    "target_value",
    "target_date",
    "reporting_organisation",
    "reporting_period",
)
NOTE_MAX_LENGTH = 5000
MEASUREMENT_FIELDS = ("period_start", "period_end", "value", "text_value", "source", "note", "is_public")


def _display(field: str, value: Any, unit: str | None = None) -> str:
    if value is None or value == "":
        return ""
    if field in ("baseline_value", "target_value", "value"):
        return format_value(value, unit)
    if field == "is_public":
        return "Yes" if value else "No"
    if isinstance(value, datetime.date):
        return value.strftime("%-d %B %Y")
    if field == "unit":
        return Measure.Unit(value).label
    if field == "direction":
        return Measure.Direction(value).label
    if field == "reporting_period":
        return Measure.ReportingPeriod(value).label
    return str(value)


def _merge(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def validate_measure(measure: Measure) -> None:
    """The rules a measure obeys beyond its fields: percentages within 0–100, dates in order, a sensible target."""
    errors: dict[str, list[str]] = {}
    numeric = measure.unit != Measure.Unit.TEXT
    if not numeric:
        for name in ("baseline_value", "target_value"):
            if getattr(measure, name) is not None:
                _merge(errors, name, "A measure whose unit is text has no numeric baseline or target.")
    if measure.unit == Measure.Unit.PERCENTAGE:
        for name in ("baseline_value", "target_value"):
            value = getattr(measure, name)
            if value is not None and not 0 <= value <= 100:
                _merge(errors, name, "A percentage must be between 0 and 100.")
    if measure.baseline_date and measure.target_date and measure.target_date < measure.baseline_date:
        _merge(errors, "target_date", "The target date cannot be before the baseline date.")
    if numeric and measure.baseline_value is not None and measure.target_value is not None:
        if measure.direction == Measure.Direction.HIGHER and measure.target_value < measure.baseline_value:
            _merge(errors, "target_value", "Higher is better, so the target cannot be below the baseline.")
        if measure.direction == Measure.Direction.LOWER and measure.target_value > measure.baseline_value:
            _merge(errors, "target_value", "Lower is better, so the target cannot be above the baseline.")
    if not measure.name:
        _merge(errors, "name", "Enter the measure's name.")
    elif (
        Measure.objects.filter(indicator_id=measure.indicator_id, name__iexact=measure.name)
        .exclude(pk=measure.pk)
        .exists()
    ):
        _merge(errors, "name", "This indicator already has a measure with that name.")
    if measure.pk:
        existing = Measurement.objects.filter(measure_id=measure.pk)
        if existing.exists():
            stored_unit = Measure.objects.values_list("unit", flat=True).get(pk=measure.pk)
            if (stored_unit == Measure.Unit.TEXT) != (measure.unit == Measure.Unit.TEXT):
                _merge(errors, "unit", "This measure has values already: it cannot change between text and numbers.")
            elif measure.unit == Measure.Unit.PERCENTAGE and existing.filter(value__gt=100).exists():
                _merge(errors, "unit", "Some recorded values are above 100, so the unit cannot be a percentage.")
            elif measure.unit == Measure.Unit.PERCENTAGE and existing.filter(value__lt=0).exists():
                _merge(errors, "unit", "Some recorded values are below 0, so the unit cannot be a percentage.")
    if errors:
        raise ValidationError(errors)
    measure.full_clean()


def validate_measurement(measurement: Measurement, measure: Measure, *, check_period_length: bool = True) -> None:
    """The rules a measurement obeys: a value of the measure's kind, percentages within 0–100, one per period
    of the measure's reporting period (a correction that keeps an older value's period is not refused for it).
    """
    errors: dict[str, list[str]] = {}
    if measure.unit == Measure.Unit.TEXT:
        measurement.value = None
        measurement.text_value = (measurement.text_value or "").strip()
        if not measurement.text_value:
            _merge(errors, "text_value", "Enter the value.")
    else:
        measurement.text_value = ""
        if measurement.value is None:
            _merge(errors, "value", "Enter the value, as a number.")
        elif measure.unit == Measure.Unit.PERCENTAGE and not 0 <= measurement.value <= 100:
            _merge(errors, "value", "A percentage must be between 0 and 100.")
    if len(measurement.note or "") > NOTE_MAX_LENGTH:
        _merge(errors, "note", f"The note must be {NOTE_MAX_LENGTH:,} characters or fewer.")
    if measurement.period_start is None:
        _merge(errors, "period_start", "Enter the date the period starts.")
    if measurement.period_end is None:
        _merge(errors, "period_end", "Enter the date the period ends.")
    if measurement.period_start and measurement.period_end:
        if measurement.period_end < measurement.period_start:
            _merge(errors, "period_end", "The period cannot end before it starts.")
        elif check_period_length and (
            problem := measure.period_problem(measurement.period_start, measurement.period_end)
        ):
            _merge(errors, "period_end", problem)
        elif (
            Measurement.objects.filter(
                measure=measure, period_start=measurement.period_start, period_end=measurement.period_end
            )
            .exclude(pk=measurement.pk)
            .exists()
        ):
            _merge(errors, "period_start", "This measure already has a value for that period: correct that one.")
    if errors:
        raise ValidationError(errors)
    # Who recorded it is set by the services; older rows (fixtures, demo) may have nobody.
    measurement.full_clean(exclude=["recorded_by"])


def _lock_measure(measure: Measure) -> Measure:
    return Measure.objects.select_for_update(of=("self",)).select_related("indicator").get(pk=measure.pk)


@transaction.atomic
def measure_create(
    *,
    indicator: SuccessIndicator,
    by: User | None,
    name: str | None,
    unit: str = Measure.Unit.COUNT,
    direction: str = Measure.Direction.HIGHER,
    via: str = "web",
    **fields: Any,
) -> Measure:
    """Define a new measure on an indicator, recording each value it starts with."""
    unknown = set(fields) - set(MEASURE_FIELDS)
    if unknown:
        raise TypeError(f"Not a measure field: {', '.join(sorted(unknown))}")
    measure = Measure(indicator=indicator, name=(name or "").strip(), unit=unit, direction=direction, **fields)
    validate_measure(measure)
    measure.save()
    record_changes(
        subject=IndicatorChange.about(indicator, measure=measure, subject=f"Measure: {measure.name}"),
        before={},
        after={
            field: _display(field, getattr(measure, field), measure.unit)
            for field in MEASURE_FIELDS
            if getattr(measure, field) not in (None, "")
        },
        by=by,
        via=via,
    )
    return measure


@transaction.atomic
def measure_update(*, measure: Measure, by: User | None, via: str = "web", **changes: Any) -> list[IndicatorChange]:
    """Change a measure's definition, recording each changed field with its old and new value."""
    unknown = set(changes) - set(MEASURE_FIELDS)
    if unknown:
        raise TypeError(f"Not a measure field: {', '.join(sorted(unknown))}")
    locked = _lock_measure(measure)
    old = {field: getattr(locked, field) for field in MEASURE_FIELDS}
    old_unit = locked.unit
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
    for field, value in changes.items():
        setattr(locked, field, value)
    changed = [field for field in changes if old[field] != getattr(locked, field)]
    if not changed:
        return []
    validate_measure(locked)
    if "reporting_period" in changed:
        misfits = [m for m in locked.measurements.all() if locked.period_problem(m.period_start, m.period_end)]
        if misfits:
            raise ValidationError(
                {
                    "reporting_period": f"{len(misfits)} recorded value{'s' if len(misfits) != 1 else ''} "
                    f"cover{'s' if len(misfits) == 1 else ''} a period of another length "
                    f"(such as {period_label(misfits[0].period_start, misfits[0].period_end)}): "
                    "correct them first, so the chart does not mix lengths."
                }
            )
    locked.save()
    records = record_changes(
        subject=IndicatorChange.about(locked.indicator, measure=locked, subject=f"Measure: {locked.name}"),
        before={field: _display(field, old[field], old_unit) for field in changed},
        after={field: _display(field, getattr(locked, field), locked.unit) for field in changed},
        by=by,
        via=via,
    )
    measure.refresh_from_db()
    return records


def _actions_display(actions: Iterable[Action]) -> str:
    return ", ".join(sorted((a.code for a in actions), key=lambda code: [c.zfill(6) for c in code.split(".")]))


@transaction.atomic
def indicator_set_actions(
    *, indicator: SuccessIndicator, actions: Iterable[Action], by: User | None, via: str = "web"
) -> IndicatorChange | None:
    """Make `actions` (of the indicator's plan) the ones linked to it, recording old and new links."""
    indicator = SuccessIndicator.objects.select_for_update().get(pk=indicator.pk)
    actions = list(actions)
    foreign = list(
        Action.objects.filter(pk__in=[a.pk for a in actions])
        .exclude(objective__priority__plan_id=indicator.plan_id)
        .values_list("code", flat=True)
    )
    if foreign:
        raise ValidationError({"actions": f"Not an action of this plan: {', '.join(sorted(foreign))}."})
    current = list(indicator.actions.all())
    if {a.pk for a in current} == {a.pk for a in actions}:
        return None
    indicator.actions.set(actions)
    [change] = record_changes(
        subject=IndicatorChange.about(indicator, subject="Indicator"),
        before={"actions": _actions_display(current)},
        after={"actions": _actions_display(actions)},
        by=by,
        via=via,
    )
    return change


@transaction.atomic
def indicator_unlink_action(
    *, indicator: SuccessIndicator, action: Action, by: User | None, via: str = "web"
) -> IndicatorChange | None:
    """Remove one action from the indicator's linked actions (nothing happens if it was not linked)."""
    current = list(indicator.actions.all())
    if action.pk not in {a.pk for a in current}:
        return None
    return indicator_set_actions(indicator=indicator, actions=[a for a in current if a.pk != action.pk], by=by, via=via)


def _measurement_subject(measure: Measure, measurement: Measurement) -> str:
    return f"Measurement: {measure.name}, {period_label(measurement.period_start, measurement.period_end)}"


@transaction.atomic
def measurement_record(
    *,
    measure: Measure,
    by: User | None,
    period_start: datetime.date,
    period_end: datetime.date,
    value: Decimal | None = None,
    text_value: str | None = "",
    source: str | None = "",
    note: str | None = "",
    is_public: bool = False,
    via: str = "web",
) -> Measurement:
    """Record the value of a measure for one period; refuses a second value for the same period.

    `is_public` shows its period and value on the public pages and in the open data once the plan is published.
    """
    locked = _lock_measure(measure)
    measurement = Measurement(
        measure=locked,
        period_start=period_start,
        period_end=period_end,
        value=value,
        text_value=text_value or "",
        source=(source or "").strip(),
        note=(note or "").strip(),
        is_public=bool(is_public),
        recorded_by=by,
        recorded_at=timezone.now(),
    )
    validate_measurement(measurement, locked)
    try:
        with transaction.atomic():
            measurement.save()
    except IntegrityError as error:
        # Someone recorded the same period between our check and our insert.
        raise ValidationError({"period_start": "This measure already has a value for that period."}) from error
    subject = _measurement_subject(locked, measurement)
    record_changes(
        subject=IndicatorChange.about(locked.indicator, measure=locked, subject=subject),
        before={},
        after={
            field: _display(field, getattr(measurement, field), locked.unit)
            for field in ("value" if locked.is_numeric else "text_value", "source", "note", "is_public")
            if getattr(measurement, field) not in (None, "")
            and not (field == "is_public" and not measurement.is_public)
        },
        by=by,
        via=via,
        at=measurement.recorded_at,
    )
    return measurement


@transaction.atomic
def measurement_correct(
    *, measurement: Measurement, by: User | None, via: str = "web", **changes: Any
) -> list[IndicatorChange]:
    """Correct a recorded measurement (period, value, source or note), recording old and new values."""
    unknown = set(changes) - set(MEASUREMENT_FIELDS)
    if unknown:
        raise TypeError(f"Not a measurement field: {', '.join(sorted(unknown))}")
    measure = _lock_measure(measurement.measure)
    locked = Measurement.objects.select_for_update().get(pk=measurement.pk)
    old = {field: getattr(locked, field) for field in MEASUREMENT_FIELDS}
    old_subject = _measurement_subject(measure, locked)
    for field in ("source", "note", "text_value"):
        if field in changes:
            changes[field] = (changes[field] or "").strip()
    for field, value in changes.items():
        setattr(locked, field, value)
    period_changed = (locked.period_start, locked.period_end) != (old["period_start"], old["period_end"])
    validate_measurement(locked, measure, check_period_length=period_changed)
    changed = [field for field in MEASUREMENT_FIELDS if old[field] != getattr(locked, field)]
    if not changed:
        return []
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError as error:
        raise ValidationError({"period_start": "This measure already has a value for that period."}) from error
    subjects, before, after = [], [], []
    if "period_start" in changed or "period_end" in changed:
        # The period's change is told under the period it had; the other fields' under the one it has.
        subjects.append(IndicatorChange.about(measure.indicator, measure=measure, subject=old_subject))
        before.append({"period": period_label(old["period_start"], old["period_end"])})
        after.append({"period": period_label(locked.period_start, locked.period_end)})
    fields = [field for field in ("value", "text_value", "source", "note", "is_public") if field in changed]
    if fields:
        subject = _measurement_subject(measure, locked)
        subjects.append(IndicatorChange.about(measure.indicator, measure=measure, subject=subject))
        before.append({field: _display(field, old[field], measure.unit) for field in fields})
        after.append({field: _display(field, getattr(locked, field), measure.unit) for field in fields})
    records = record_changes(subject=subjects, before=before, after=after, by=by, via=via)
    measurement.refresh_from_db()
    return records


def measurement_import_store(*, filename: str, content: bytes, by: User) -> MeasurementImport:
    """Keep an uploaded file until its preview is confirmed (tracker.imports.upload_store)."""
    return upload_store(model=MeasurementImport, filename=filename, content=content, by=by)


def measurement_import_confirm(*, upload: MeasurementImport, by: User, via: str = "import") -> int:
    """Validate the stored file again and write all its rows, or none of them; returns the rows written.

    The rows are checked by indicators.importing with the same rules as measurement_record (in bulk:
    a few queries for the whole file, not one per row), then written with bulk_create; the database's
    own constraints still refuse a period recorded by someone else meanwhile, which undoes everything
    (tracker.imports.upload_confirm: ImportNotValid, ImportAlreadyConfirmed).
    """

    def write(locked: MeasurementImport, preview: ImportPreview, now: datetime.datetime) -> int:
        return _write_measurements(preview, by=by, via=via, now=now)

    done = upload_confirm(
        upload=upload,
        check=lambda locked: parse_measurements_file(filename=locked.filename, content=bytes(locked.content)),
        write=write,
        races=(IntegrityError,),
        race_message="Someone recorded a value for one of these periods while you were checking the file. "
        "Nothing was imported: upload the file again to see which rows.",
    )
    return done.rows_written


def _write_measurements(preview: ImportPreview, *, by: User, via: str, now: datetime.datetime) -> int:
    """Every row of a valid preview as a measurement, with its history; returns how many."""
    measurements = []
    for row in preview.rows:
        if row.period_start is None or row.period_end is None:  # a valid preview's rows all have their period
            raise ValueError(f"Row {row.number} has no period: the preview was not valid.")
        measurement = Measurement(
            measure=row.measure,
            period_start=row.period_start,
            period_end=row.period_end,
            value=row.value,
            text_value=row.text_value,
            source=row.source,
            note=row.note,
            recorded_by=by,
            recorded_at=now,
        )
        # Field rules only: the constraints were checked in bulk above and the database enforces them;
        # the measure came from the database (checking it again would be one query per row).
        measurement.full_clean(exclude=["measure", "recorded_by"], validate_unique=False, validate_constraints=False)
        measurements.append(measurement)
    Measurement.objects.bulk_create(measurements, batch_size=500)
    data_changed()  # bulk_create sends no signals
    record_changes(
        subject=[
            IndicatorChange.about(m.measure.indicator, measure=m.measure, subject=_measurement_subject(m.measure, m))
            for m in measurements
        ],
        before={},
        after=[
            {"value": _display("value", m.value, m.measure.unit)}
            if m.measure.is_numeric
            else {"text_value": m.text_value}
            for m in measurements
        ],
        by=by,
        via=via,
        at=now,
        batch_size=500,
    )
    return len(measurements)


@transaction.atomic
def measurement_submission_create(
    *,
    measure: Measure,
    by: User,
    period_start: datetime.date,
    period_end: datetime.date,
    value: Decimal | None = None,
    text_value: str | None = "",
    source: str | None = "",
    note: str | None = "",
    via_api_token: str = "",
) -> MeasurementSubmission:
    """A partner reports a value for a measure their organisation reports; it waits for the secretariat.

    `via_api_token`: the name of the access token it came through (the API), said in the notification.
    """
    if (
        by.role != by.Role.PARTNER
        or not measure.reporting_organisation_id
        or (measure.reporting_organisation_id != by.organisation_id)
    ):
        raise PermissionDenied("Only the organisation that reports this measure can submit values for it.")
    if SuccessIndicator.objects.filter(pk=measure.indicator_id, archived_at__isnull=False).exists():
        raise ValidationError("This indicator is archived: it no longer takes values.")
    # The same rules as a value the secretariat records, checked on a measurement that is not saved.
    validate_measurement(
        Measurement(
            measure=measure,
            period_start=period_start,
            period_end=period_end,
            value=value,
            text_value=text_value or "",
            source=(source or "").strip(),
            note=(note or "").strip(),
        ),
        measure,
    )
    submission = MeasurementSubmission(
        measure=measure,
        organisation_id=by.organisation_id,
        submitted_by=by,
        period_start=period_start,
        period_end=period_end,
        value=value if measure.is_numeric else None,
        text_value="" if measure.is_numeric else (text_value or "").strip(),
        source=(source or "").strip(),
        note=(note or "").strip(),
    )
    submission.full_clean()
    submission.save()
    _notify_value_submitted(submission, via_api_token=via_api_token)
    return submission


def _value_what(submission: MeasurementSubmission) -> str:
    period = period_label(submission.period_start, submission.period_end)
    return f"a value for {submission.measure.name} ({period})"


def _notify_value_submitted(submission: MeasurementSubmission, via_api_token: str = "") -> None:
    """Reported values have no action owner: every active secretariat member hears of them."""
    value = format_value(submission.display_value, submission.measure.unit)
    details = [f"Value: {value}", f"Source: {submission.source or '(none)'}", f"Note: {submission.note or '(none)'}"]
    report_submitted.send(
        sender=MeasurementSubmission,
        event=f"value-submission:{submission.pk}:submitted",
        action=None,
        organisation=submission.organisation,
        submitted_by=submission.submitted_by,
        what=_value_what(submission),
        details=details,
        review_path=reverse("overview:review-queue") + f"#value-submission-{submission.pk}",
        via_api_token=via_api_token,
    )


def _notify_value_decided(submission: MeasurementSubmission) -> None:
    accepted = submission.state == MeasurementSubmission.State.ACCEPTED
    report_decided.send(
        sender=MeasurementSubmission,
        event=f"value-submission:{submission.pk}:{submission.state}",
        action=None,
        organisation=submission.organisation,
        submitted_by=submission.submitted_by,
        what=f"your report of {_value_what(submission)}",
        accepted=accepted,
        outcome="It is now the measure's official value for that period.",
        reason=submission.return_reason,
        answer_path=reverse("indicators:measurement-submit", kwargs={"pk": submission.measure_id}),
        decided_by=submission.decided_by,
    )


def _lock_pending_measurement(submission: MeasurementSubmission) -> MeasurementSubmission:
    return lock_pending(MeasurementSubmission.objects.select_related("measure"), submission)


@transaction.atomic
def measurement_submission_accept(*, submission: MeasurementSubmission, by: User) -> Measurement:
    """Accept a partner's value: it becomes the measure's measurement for that period, recorded as theirs."""
    locked = _lock_pending_measurement(submission)
    measurement = measurement_record(
        measure=locked.measure,
        by=locked.submitted_by,
        period_start=locked.period_start,
        period_end=locked.period_end,
        value=locked.value,
        text_value=locked.text_value,
        source=locked.source,
        note=locked.note,
        via="review",
    )
    record_decision(locked, by=by, state=MeasurementSubmission.State.ACCEPTED, measurement=measurement)
    _notify_value_decided(locked)
    submission.refresh_from_db()
    return measurement


@transaction.atomic
def measurement_submission_return(
    *, submission: MeasurementSubmission, by: User, reason: str | None
) -> MeasurementSubmission:
    """Send a reported value back to the partner with a reason they can answer."""
    reason = clean_return_reason(reason, "the value")
    locked = _lock_pending_measurement(submission)
    record_decision(locked, by=by, state=MeasurementSubmission.State.RETURNED, return_reason=reason)
    _notify_value_decided(locked)
    submission.refresh_from_db()
    return locked


# ---------------------------------------------------------------------------------------------------
# Building the plan's indicators (issue 16): each change is an IndicatorChange row on the indicator.

INDICATOR_FIELDS = ("code", "statement")


def _clean_indicator(indicator: SuccessIndicator) -> None:
    indicator.code = (indicator.code or "").strip()
    # Browsers send a textarea's line ends as CRLF: an untouched statement must save unchanged.
    indicator.statement = (indicator.statement or "").replace("\r\n", "\n").strip()
    errors: dict[str, list[str]] = {}
    if not indicator.code:
        _merge(errors, "code", "Enter the indicator's code, e.g. SI1.")
    elif (
        SuccessIndicator.objects.filter(plan_id=indicator.plan_id, code__iexact=indicator.code)
        .exclude(pk=indicator.pk)
        .exists()
    ):
        _merge(errors, "code", f"This plan already has an indicator {indicator.code}: choose another code.")
    if not indicator.statement:
        _merge(errors, "statement", "Enter the indicator's statement.")
    if errors:
        raise ValidationError(errors)
    indicator.full_clean()


@transaction.atomic
def indicator_create(*, plan: Plan, by: User | None, code: str, statement: str, via: str = "web") -> SuccessIndicator:
    """Add a success indicator to a plan, after its others; its code is unique in the plan."""
    # The plan's row is locked so two people adding the same code at once get the form's error.
    Plan.objects.select_for_update().get(pk=plan.pk)
    last = SuccessIndicator.objects.filter(plan=plan).aggregate(last=Max("position"))["last"]
    indicator = SuccessIndicator(plan=plan, code=code, statement=statement, position=(last or 0) + 1)
    _clean_indicator(indicator)
    indicator.save()
    record_changes(
        subject=IndicatorChange.about(indicator, subject="Indicator"),
        before={},
        after={"created": indicator.code, "statement": indicator.statement},
        by=by,
        via=via,
    )
    return indicator


@transaction.atomic
def indicator_update(
    *, indicator: SuccessIndicator, by: User | None, via: str = "web", **changes: Any
) -> list[IndicatorChange]:
    """Change an indicator's code or statement, recording each change with its old and new value."""
    unknown = set(changes) - set(INDICATOR_FIELDS)
    if unknown:
        raise TypeError(f"Not an editable indicator field: {', '.join(sorted(unknown))}")
    Plan.objects.select_for_update().get(pk=indicator.plan_id)
    locked = SuccessIndicator.objects.select_for_update().get(pk=indicator.pk)
    old = {field: getattr(locked, field) for field in INDICATOR_FIELDS}
    for field, value in changes.items():
        setattr(locked, field, value)
    _clean_indicator(locked)
    changed = [field for field in changes if getattr(locked, field) != old[field]]
    if not changed:
        return []
    locked.save(update_fields=changed)
    records = record_changes(
        subject=IndicatorChange.about(locked, subject="Indicator"),
        before={field: old[field] for field in changed},
        after={field: getattr(locked, field) for field in changed},
        by=by,
        via=via,
    )
    indicator.refresh_from_db()
    return records


# Archiving and deleting indicators (issue 16): the same rule as the plan's items (priorities.services).
# An indicator anything refers to (measurements, reported values, linked actions, edits in its history)
# is archived: it leaves the lists, the dashboard and the public pages, its page stays readable.
# ---------------------------------------------------------------------------------------------------


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def indicator_references(*, indicator: SuccessIndicator) -> list[str]:
    """What refers to an indicator, in plain words; [] if nothing does (then it may be deleted).

    Its measures' definitions are part of it; their values, values partners reported, the actions
    linked to it and any later change in its history are references.
    """
    found = []
    counts = [
        (Measurement.objects.filter(measure__indicator=indicator).count(), "measurement", "measurements"),
        (
            MeasurementSubmission.objects.filter(measure__indicator=indicator).count(),
            "value reported by a partner",
            "values reported by partners",
        ),
        (indicator.actions.count(), "linked action", "linked actions"),
        (
            # The values a measure was defined with (measure_create) are its definition, not an edit.
            IndicatorChange.objects.filter(indicator=indicator).exclude(old_value="", field__in=MEASURE_FIELDS).count(),
            "change in its history",
            "changes in its history",
        ),
    ]
    for n, one, many in counts:
        if n:
            found.append(_count(n, one, many))
    return found


def _require_secretariat(by: User | None) -> None:
    if by is None or by.role != by.Role.SECRETARIAT:
        raise PermissionDenied("Only the secretariat archives, restores or deletes indicators.")


def _decide_indicator_archive(
    indicator: SuccessIndicator, *, archived: bool, by: User | None, via: str
) -> IndicatorChange | None:
    _require_secretariat(by)
    locked = SuccessIndicator.objects.select_for_update().get(pk=indicator.pk)
    if locked.is_archived == archived:
        return None
    if archived:
        waiting = MeasurementSubmission.objects.pending().filter(measure__indicator=locked).count()
        if waiting:
            raise ValidationError(
                f"{_count(waiting, 'value reported by a partner awaits', 'values reported by partners await')} "
                f"review: accept or return {'it' if waiting == 1 else 'them'} before archiving {locked.code}."
            )
    now = timezone.now()
    locked.archived_at, locked.archived_by = (now, by) if archived else (None, None)
    locked.save(update_fields=["archived_at", "archived_by"])
    [change] = record_changes(
        subject=IndicatorChange.about(locked, subject="Indicator"),
        before={"archived": "Archived" if not archived else "Live"},
        after={"archived": "Archived" if archived else "Live"},
        by=by,
        via=via,
        at=now,
    )
    indicator.refresh_from_db()
    return change


@transaction.atomic
def indicator_archive(*, indicator: SuccessIndicator, by: User | None, via: str = "web") -> IndicatorChange | None:
    """Archive an indicator: it leaves the lists, dashboard and public pages; None if already archived."""
    return _decide_indicator_archive(indicator, archived=True, by=by, via=via)


@transaction.atomic
def indicator_restore(*, indicator: SuccessIndicator, by: User | None, via: str = "web") -> IndicatorChange | None:
    """Bring an archived indicator back; None if it was not archived."""
    return _decide_indicator_archive(indicator, archived=False, by=by, via=via)


@transaction.atomic
def indicator_delete(*, indicator: SuccessIndicator, by: User | None) -> None:
    """Delete an indicator nothing refers to (with its measures' definitions); refused once anything does."""
    _require_secretariat(by)
    locked = SuccessIndicator.objects.select_for_update().get(pk=indicator.pk)
    references = indicator_references(indicator=locked)
    if references:
        raise ValidationError(
            f"Indicator {locked.code} cannot be deleted: it has {', '.join(references)}. "
            "Archive it instead, so they stay readable."
        )
    locked.delete()
