"""What was known about the measures on a past date: the values recorded by then, as then corrected.

A measurement's corrections are kept only in IndicatorChange (old and new value, as people read
them), so the value a measurement had on a date is its value now with every later correction undone,
newest first.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from .models import IndicatorChange, Measurement
from .progress import parse_period_label, parse_value, period_label

SUBJECT_PREFIX = "Measurement: "


def _subject_period(subject):
    # "Measurement: <measure name>, <period label>": the label holds no comma.
    return subject.rpartition(", ")[2]


def measurements_as_of(measure_ids, as_of):
    """{measure id: [Measurement with its period and value as they stood at the end of `as_of`]}.

    Only measurements recorded on or before `as_of` are kept. Two queries whatever the data.
    """
    end = timezone.make_aware(datetime.datetime.combine(as_of + datetime.timedelta(days=1), datetime.time.min))
    by_measure: dict[int, list[Measurement]] = {}
    by_label: dict[tuple[int, str], Measurement] = {}
    for measurement in Measurement.objects.filter(measure_id__in=measure_ids):
        by_measure.setdefault(measurement.measure_id, []).append(measurement)
        by_label[(measurement.measure_id, measurement.period_label)] = measurement
    later = (
        IndicatorChange.objects.filter(
            measure_id__in=measure_ids,
            changed_at__gte=end,
            field__in=("period", "value", "text_value"),
            subject__startswith=SUBJECT_PREFIX,
        )
        .order_by("-changed_at", "-pk")
        .values_list("measure_id", "subject", "field", "old_value", "new_value")
    )
    # Newest first: a correction's value rows name the new period and come after its period row.
    for measure_id, subject, field, old, new in later:
        if field == "period":
            moved = by_label.pop((measure_id, new), None)
            if moved is None:
                continue
            measurement = moved
            measurement.period_start, measurement.period_end = parse_period_label(old)
            by_label[(measure_id, period_label(measurement.period_start, measurement.period_end))] = measurement
            continue
        current = by_label.get((measure_id, _subject_period(subject)))
        if current is None:
            continue
        measurement = current
        if field == "value":
            value = parse_value(old)
            # As the database field returns it (two places), so it reads like the values never corrected.
            measurement.value = value.quantize(Decimal("0.01")) if value is not None else None
        else:
            measurement.text_value = old
    return {
        measure_id: [m for m in measurements if m.recorded_at < end] for measure_id, measurements in by_measure.items()
    }


def annotate_as_of(measures, as_of):
    """Set value_then, text_then, period_end_then on each measure: its latest period ended by `as_of`, as known then."""
    known = measurements_as_of([measure.pk for measure in measures], as_of)
    for measure in measures:
        ended = [m for m in known.get(measure.pk, []) if m.period_end <= as_of]
        latest = max(ended, key=lambda m: (m.period_end, m.period_start, m.pk), default=None)
        measure.value_then = latest.value if latest else None
        measure.text_then = latest.text_value if latest else ""
        measure.period_end_then = latest.period_end if latest else None
    return measures
