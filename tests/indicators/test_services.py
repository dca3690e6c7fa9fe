import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from indicators import services
from indicators.models import IndicatorChange, Measure, Measurement
from tests.factories import (
    ActionFactory,
    MeasureFactory,
    MeasurementFactory,
    ObjectiveFactory,
    PriorityFactory,
    SuccessIndicatorFactory,
)

pytestmark = pytest.mark.django_db
Y2024 = {"period_start": datetime.date(2024, 1, 1), "period_end": datetime.date(2024, 12, 31)}


def test_measure_create_records_each_starting_value(secretariat, org_a):
    indicator = SuccessIndicatorFactory()
    measure = services.measure_create(
        indicator=indicator,
        by=secretariat,
        name="  Joint teams  ",
        unit=Measure.Unit.COUNT,
        direction=Measure.Direction.HIGHER,
        baseline_value=Decimal("4"),
        target_value=Decimal("10"),
        reporting_organisation=org_a,
    )
    assert measure.name == "Joint teams"
    changes = {c.field: c for c in IndicatorChange.objects.filter(measure=measure)}
    assert set(changes) == {
        "name",
        "unit",
        "direction",
        "baseline_value",
        "target_value",
        "reporting_organisation",
        "reporting_period",
    }
    assert changes["reporting_period"].new_value == "A year"
    assert changes["target_value"].old_value == "" and changes["target_value"].new_value == "10"
    assert changes["reporting_organisation"].new_value == "Organisation A"
    assert all(c.changed_by == secretariat and c.indicator == indicator for c in changes.values())


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"unit": "percentage", "target_value": Decimal("120")}, "target_value"),
        ({"unit": "percentage", "baseline_value": Decimal("-1")}, "baseline_value"),
        ({"direction": "higher", "baseline_value": Decimal("10"), "target_value": Decimal("5")}, "target_value"),
        ({"direction": "lower", "baseline_value": Decimal("5"), "target_value": Decimal("10")}, "target_value"),
        ({"baseline_date": datetime.date(2025, 1, 1), "target_date": datetime.date(2024, 1, 1)}, "target_date"),
        ({"unit": "text", "target_value": Decimal("3")}, "target_value"),
        ({"name": ""}, "name"),
    ],
)
def test_measure_create_refuses_bad_definitions(secretariat, fields, error_field):
    indicator = SuccessIndicatorFactory()
    fields = {"name": "A measure", **fields}
    with pytest.raises(ValidationError) as refused:
        services.measure_create(indicator=indicator, by=secretariat, **fields)
    assert error_field in refused.value.error_dict
    assert not Measure.objects.exists()
    assert not IndicatorChange.objects.exists()


def test_measure_names_are_unique_per_indicator(secretariat):
    existing = MeasureFactory(name="Joint teams")
    with pytest.raises(ValidationError) as refused:
        services.measure_create(indicator=existing.indicator, by=secretariat, name="joint TEAMS")
    assert "name" in refused.value.error_dict


def test_measure_update_records_old_and_new(secretariat):
    measure = MeasureFactory(baseline_value=Decimal("4"), target_value=Decimal("10"))
    records = services.measure_update(
        measure=measure, by=secretariat, target_value=Decimal("12"), direction=Measure.Direction.HIGHER
    )
    assert [(r.field, r.old_value, r.new_value) for r in records] == [("target_value", "10", "12")]
    measure.refresh_from_db()
    assert measure.target_value == Decimal("12")
    assert services.measure_update(measure=measure, by=secretariat, target_value=Decimal("12")) == []


def test_measure_unit_cannot_become_percentage_with_values_above_100(secretariat):
    measure = MeasureFactory()
    MeasurementFactory(measure=measure, value=250)
    with pytest.raises(ValidationError) as refused:
        services.measure_update(measure=measure, by=secretariat, unit=Measure.Unit.PERCENTAGE)
    assert "unit" in refused.value.error_dict
    measure.refresh_from_db()
    assert measure.unit == Measure.Unit.COUNT


def test_measure_unit_cannot_switch_between_text_and_numbers_once_recorded(secretariat):
    measure = MeasureFactory()
    MeasurementFactory(measure=measure)
    with pytest.raises(ValidationError):
        services.measure_update(measure=measure, by=secretariat, unit=Measure.Unit.TEXT)


def test_measure_update_rejects_unknown_fields(secretariat):
    with pytest.raises(TypeError):
        services.measure_update(measure=MeasureFactory(), by=secretariat, indicator=None)


def _plan_actions(indicator, n):
    objective = ObjectiveFactory(priority=PriorityFactory(plan=indicator.plan))
    return [ActionFactory(objective=objective) for _ in range(n)]


def test_link_and_unlink_actions_are_recorded(secretariat):
    indicator = SuccessIndicatorFactory()
    first, second = _plan_actions(indicator, 2)
    change = services.indicator_set_actions(indicator=indicator, actions=[first, second], by=secretariat)
    assert set(indicator.actions.all()) == {first, second}
    assert change.old_value == "" and change.new_value == ", ".join(sorted([first.code, second.code]))
    assert services.indicator_set_actions(indicator=indicator, actions=[second, first], by=secretariat) is None
    change = services.indicator_unlink_action(indicator=indicator, action=first, by=secretariat)
    assert list(indicator.actions.all()) == [second]
    assert change.new_value == second.code
    assert IndicatorChange.objects.filter(field="actions").count() == 2


def test_actions_of_another_plan_cannot_be_linked(secretariat):
    indicator = SuccessIndicatorFactory()
    with pytest.raises(ValidationError):
        services.indicator_set_actions(indicator=indicator, actions=[ActionFactory()], by=secretariat)
    assert not indicator.actions.exists()


def test_measurement_record_saves_and_records_the_change(secretariat):
    measure = MeasureFactory(name="Joint teams")
    measurement = services.measurement_record(
        measure=measure, by=secretariat, value=Decimal("7"), source=" NCA ", note="", **Y2024
    )
    assert measurement.recorded_by == secretariat and measurement.source == "NCA"
    changes = IndicatorChange.objects.filter(measure=measure)
    assert {(c.subject, c.field, c.new_value) for c in changes} == {
        ("Measurement: Joint teams, 2024", "value", "7"),
        ("Measurement: Joint teams, 2024", "source", "NCA"),
    }


@pytest.mark.parametrize(
    ("unit", "fields", "error_field"),
    [
        ("percentage", {"value": Decimal("101"), **Y2024}, "value"),
        ("percentage", {"value": Decimal("-0.5"), **Y2024}, "value"),
        ("count", {"value": None, **Y2024}, "value"),
        ("text", {"text_value": "  ", **Y2024}, "text_value"),
        (
            "count",
            {"value": 1, "period_start": datetime.date(2024, 2, 1), "period_end": datetime.date(2024, 1, 31)},
            "period_end",
        ),
        ("count", {"value": Decimal("1.234"), **Y2024}, "value"),
    ],
)
def test_measurement_record_refuses_bad_values(secretariat, unit, fields, error_field):
    measure = MeasureFactory(unit=unit)
    with pytest.raises(ValidationError) as refused:
        services.measurement_record(measure=measure, by=secretariat, **fields)
    assert error_field in refused.value.error_dict
    assert not Measurement.objects.exists() and not IndicatorChange.objects.exists()


def test_measurement_record_refuses_a_period_that_already_has_a_value(secretariat):
    existing = MeasurementFactory(**Y2024)
    with pytest.raises(ValidationError) as refused:
        services.measurement_record(measure=existing.measure, by=secretariat, value=3, **Y2024)
    assert "period_start" in refused.value.error_dict
    assert Measurement.objects.count() == 1


def test_measurement_correct_records_old_and_new(secretariat):
    # A quarterly measure with an older annual value: correcting its period to a quarter is allowed.
    measurement = MeasurementFactory(measure=MeasureFactory(name="Joint teams", reporting_period=3), value=5, **Y2024)
    records = services.measurement_correct(
        measurement=measurement,
        by=secretariat,
        value=Decimal("6"),
        period_start=datetime.date(2024, 1, 1),
        period_end=datetime.date(2024, 3, 31),
        note="Late return from one force",
    )
    assert {(r.field, r.old_value, r.new_value) for r in records} == {
        ("period", "2024", "Q1 2024"),
        ("value", "5", "6"),
        ("note", "", "Late return from one force"),
    }
    measurement.refresh_from_db()
    assert measurement.value == Decimal("6") and measurement.period_end == datetime.date(2024, 3, 31)


def test_measurement_correct_cannot_move_onto_another_recorded_period(secretariat):
    measure = MeasureFactory()
    MeasurementFactory(measure=measure, **Y2024)
    other = MeasurementFactory(measure=measure, period_start=datetime.date(2023, 1, 1))
    with pytest.raises(ValidationError):
        services.measurement_correct(measurement=other, by=secretariat, **Y2024)
    other.refresh_from_db()
    assert other.period_start == datetime.date(2023, 1, 1)
    assert not IndicatorChange.objects.exists()


def test_measurement_note_has_a_length_limit(secretariat):
    with pytest.raises(ValidationError) as refused:
        services.measurement_record(measure=MeasureFactory(), by=secretariat, value=1, note="x" * 5001, **Y2024)
    assert "note" in refused.value.error_dict


@pytest.mark.parametrize(
    ("period", "start", "end", "refused"),
    [
        (12, datetime.date(2025, 1, 1), datetime.date(2025, 12, 31), False),
        (12, datetime.date(2024, 4, 1), datetime.date(2025, 3, 31), False),
        (12, datetime.date(2025, 1, 1), datetime.date(2025, 6, 30), True),
        (6, datetime.date(2025, 7, 1), datetime.date(2025, 12, 31), False),
        (6, datetime.date(2025, 1, 1), datetime.date(2025, 12, 31), True),
        (3, datetime.date(2025, 4, 1), datetime.date(2025, 6, 30), False),
        (1, datetime.date(2024, 2, 1), datetime.date(2024, 2, 29), False),
        (1, datetime.date(2024, 2, 1), datetime.date(2024, 3, 1), True),
    ],
)
def test_a_value_for_a_period_of_another_length_is_refused(secretariat, period, start, end, refused):
    measure = MeasureFactory(name="Joint teams", reporting_period=period)
    if not refused:
        services.measurement_record(measure=measure, by=secretariat, value=3, period_start=start, period_end=end)
        assert Measurement.objects.count() == 1
        return
    with pytest.raises(ValidationError) as error:
        services.measurement_record(measure=measure, by=secretariat, value=3, period_start=start, period_end=end)
    assert "Each value of Joint teams covers" in error.value.message_dict["period_end"][0]
    assert not Measurement.objects.exists() and not IndicatorChange.objects.exists()


def test_a_measure_cannot_change_its_period_under_values_of_another_length(secretariat):
    measure = MeasureFactory(reporting_period=12)
    MeasurementFactory(measure=measure, **Y2024)
    with pytest.raises(ValidationError) as error:
        services.measure_update(measure=measure, by=secretariat, reporting_period=6)
    assert "1 recorded value covers a period of another length (such as 2024)" in str(error.value)
    measure.refresh_from_db()
    assert measure.reporting_period == 12


@pytest.mark.parametrize("start", [datetime.date(2024, 1, 1), datetime.date(9999, 12, 31)])
def test_a_period_ending_at_the_calendar_s_end_is_refused_with_a_message(start, secretariat):
    # Checking its length once added a day to 9999-12-31: a 500 found by tests/test_fuzz.py.
    measure = MeasureFactory()
    with pytest.raises(ValidationError) as refused:
        services.measurement_record(
            measure=measure, by=secretariat, period_start=start, period_end=datetime.date(9999, 12, 31), value=1
        )
    assert "not 31 December 9999" in str(refused.value)
    assert not measure.measurements.exists()
