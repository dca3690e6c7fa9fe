import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from indicators.models import Measure, Measurement
from tests.factories import MeasureFactory, MeasurementFactory

pytestmark = pytest.mark.django_db


def test_database_refuses_a_second_value_for_the_same_period():
    measurement = MeasurementFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Measurement.objects.create(
            measure=measurement.measure,
            period_start=measurement.period_start,
            period_end=measurement.period_end,
            value=2,
        )
    assert Measurement.objects.count() == 1


def test_database_refuses_a_period_that_ends_before_it_starts():
    measure = MeasureFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Measurement.objects.create(
            measure=measure, period_start=datetime.date(2024, 2, 1), period_end=datetime.date(2024, 1, 1), value=1
        )


def test_with_latest_annotates_the_latest_period():
    measure = MeasureFactory(baseline_value=0, target_value=10)
    MeasurementFactory(measure=measure, period_start=datetime.date(2024, 1, 1), value=6)
    MeasurementFactory(measure=measure, period_start=datetime.date(2023, 1, 1), value=4)
    MeasureFactory()  # nothing recorded
    measures = {m.pk: m for m in Measure.objects.with_latest()}
    latest = measures[measure.pk]
    assert latest.latest_value == Decimal("6")
    assert latest.latest_period_end == datetime.date(2024, 12, 31)
    assert latest.measurement_count == 2
    assert latest.latest_display == "6"
    assert latest.latest_period_label == "2024"
    assert latest.progress() == 60
    empty = next(m for pk, m in measures.items() if pk != measure.pk)
    assert empty.latest_value is None and empty.measurement_count == 0 and empty.progress() is None


def test_with_latest_reads_text_measures():
    measure = MeasureFactory(unit=Measure.Unit.TEXT)
    MeasurementFactory(measure=measure, value=None, text_value="Guidance published")
    annotated = Measure.objects.with_latest().get(pk=measure.pk)
    assert annotated.latest_display == "Guidance published"
    assert annotated.progress() is None
