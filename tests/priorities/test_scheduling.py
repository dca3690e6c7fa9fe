"""When the next progress update falls due: month ends, leap years and the clocks changing."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from priorities.models import Action, Status, UpdateFrequency
from priorities.scheduling import add_months, next_due_date
from priorities.services import action_next_update_due, action_record_update, action_update_details
from tests.factories import ActionFactory, ObjectiveFactory, PlanFactory, PriorityFactory, SecretariatFactory

LONDON = ZoneInfo("Europe/London")
UTC = datetime.UTC
d = datetime.date


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (d(2025, 1, 15), 1, d(2025, 2, 15)),
        (d(2025, 1, 31), 1, d(2025, 2, 28)),  # no 31 February: the month's last day
        (d(2024, 1, 31), 1, d(2024, 2, 29)),  # leap year
        (d(2025, 3, 31), 1, d(2025, 4, 30)),
        (d(2025, 8, 31), 3, d(2025, 11, 30)),
        (d(2025, 11, 30), 3, d(2026, 2, 28)),  # across the year end
        (d(2025, 12, 31), 1, d(2026, 1, 31)),
        (d(2025, 12, 15), 12, d(2026, 12, 15)),
        (d(2024, 2, 29), 12, d(2025, 2, 28)),  # a leap day a year on
        (d(2024, 2, 29), 48, d(2028, 2, 29)),  # ... and four years on
        (d(2023, 8, 31), 6, d(2024, 2, 29)),
        (d(2025, 2, 28), 1, d(2025, 3, 28)),  # the clamp does not stick: 28 Feb + 1 is 28 Mar
    ],
)
def test_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_month_ends_do_not_drift_when_counted_from_the_anchor():
    # Each period counts from the last update, so a clamped date is the new anchor: document it.
    assert add_months(add_months(d(2025, 1, 31), 1), 1) == d(2025, 3, 28)
    assert add_months(d(2025, 1, 31), 2) == d(2025, 3, 31)


def test_next_due_date_prefers_last_update_then_action_start_then_plan_start():
    plan_start, action_start, last = d(2025, 1, 1), d(2025, 2, 1), d(2025, 3, 31)
    common = {"frequency_months": UpdateFrequency.QUARTERLY}
    assert next_due_date(**common, last_update_on=last, action_start=action_start, plan_start=plan_start) == d(
        2025, 6, 30
    )
    assert next_due_date(**common, action_start=action_start, plan_start=plan_start) == d(2025, 5, 1)
    assert next_due_date(**common, plan_start=plan_start) == d(2025, 4, 1)


def test_next_due_date_is_none_without_a_frequency_or_an_anchor():
    assert next_due_date(frequency_months=None, last_update_on=d(2025, 1, 1)) is None
    assert next_due_date(frequency_months=0, last_update_on=d(2025, 1, 1)) is None
    assert next_due_date(frequency_months=UpdateFrequency.MONTHLY) is None


@pytest.fixture
def annual_action(db):
    plan = PlanFactory(start_date=d(2025, 1, 1))
    objective = ObjectiveFactory(priority=PriorityFactory(plan=plan))
    return ActionFactory(objective=objective, update_frequency=UpdateFrequency.ANNUALLY)


@pytest.mark.django_db
def test_clocks_going_forward_an_update_at_half_past_midnight_bst_counts_on_the_local_date(annual_action):
    # The clocks went forward on Sunday 30 March 2025. 00:30 BST on Monday 31 March is 23:30 UTC on the 30th.
    at = datetime.datetime(2025, 3, 31, 0, 30, tzinfo=LONDON)
    assert at.astimezone(UTC).date() == d(2025, 3, 30)
    assert action_next_update_due(action=annual_action, last_update_at=at) == d(2026, 3, 31)
    # The same instant given in UTC is the same local day.
    assert action_next_update_due(action=annual_action, last_update_at=at.astimezone(UTC)) == d(2026, 3, 31)


@pytest.mark.django_db
def test_clocks_going_forward_the_recorded_update_sets_the_due_date_on_the_local_date(annual_action):
    author = SecretariatFactory()
    at = datetime.datetime(2025, 3, 30, 23, 30, tzinfo=UTC)  # 00:30 BST, 31 March
    action_record_update(action=annual_action, status=Status.ON_TRACK, note="Started.", by=author, at=at)
    annual_action.refresh_from_db()
    assert annual_action.next_update_due == d(2026, 3, 31)


@pytest.mark.django_db
def test_clocks_going_back_an_update_just_after_midnight_gmt(annual_action):
    # The clocks went back on Sunday 26 October 2025: 00:30 on the 27th is GMT, the same as UTC.
    at = datetime.datetime(2025, 10, 27, 0, 30, tzinfo=LONDON)
    assert action_next_update_due(action=annual_action, last_update_at=at) == d(2026, 10, 27)
    # 23:30 UTC on 25 October is 00:30 BST on the 26th, before the change.
    before = datetime.datetime(2025, 10, 25, 23, 30, tzinfo=UTC)
    assert action_next_update_due(action=annual_action, last_update_at=before) == d(2026, 10, 26)


@pytest.mark.django_db
def test_a_monthly_action_updated_on_31_january_is_due_on_the_last_day_of_february():
    plan = PlanFactory(start_date=d(2024, 1, 1))
    action = ActionFactory(
        objective=ObjectiveFactory(priority=PriorityFactory(plan=plan)), update_frequency=UpdateFrequency.MONTHLY
    )
    author = SecretariatFactory()
    at = datetime.datetime(2025, 1, 31, 12, tzinfo=UTC)
    action_record_update(action=action, status=Status.ON_TRACK, note="Going.", by=author, at=at)
    assert Action.objects.get(pk=action.pk).next_update_due == d(2025, 2, 28)
    action_record_update(
        action=action, status=Status.ON_TRACK, note="", by=author, at=datetime.datetime(2024, 1, 31, 12, tzinfo=UTC)
    )
    # In a leap year the same update is due on 29 February.
    assert Action.objects.get(pk=action.pk).next_update_due == d(2024, 2, 29)


@pytest.mark.django_db
def test_without_updates_the_first_is_due_one_period_after_the_plan_or_action_start():
    plan = PlanFactory(start_date=d(2024, 2, 29))
    action = ActionFactory(objective=ObjectiveFactory(priority=PriorityFactory(plan=plan)))
    by = SecretariatFactory()
    action_update_details(action=action, by=by, update_frequency=UpdateFrequency.ANNUALLY)
    assert Action.objects.get(pk=action.pk).next_update_due == d(2025, 2, 28)
    action_update_details(action=action, by=by, start_date=d(2025, 8, 31), update_frequency=UpdateFrequency.SIX_MONTHLY)
    assert Action.objects.get(pk=action.pk).next_update_due == d(2026, 2, 28)


@pytest.mark.django_db
def test_overdue_uses_the_local_date(annual_action):
    Action.objects.filter(pk=annual_action.pk).update(next_update_due=d(2025, 3, 30))
    assert not Action.objects.overdue(today=d(2025, 3, 30)).exists()
    assert Action.objects.overdue(today=d(2025, 3, 31)).exists()
    Action.objects.filter(pk=annual_action.pk).update(status=Status.COMPLETED)
    assert not Action.objects.overdue(today=d(2025, 3, 31)).exists()
