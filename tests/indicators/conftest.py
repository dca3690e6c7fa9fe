import datetime

import pytest

from priorities.models import Status
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    MeasureFactory,
    MeasurementFactory,
    ObjectiveFactory,
    PriorityFactory,
    SuccessIndicatorFactory,
)


@pytest.fixture
def indicator(db, org_a, org_b):
    """An indicator with a measure (baseline 2, target 10), two values and two linked actions of two partners."""
    indicator = SuccessIndicatorFactory(code="SI9", statement="More joint investigation teams.")
    measure = MeasureFactory(indicator=indicator, name="Joint teams set up", baseline_value=2, target_value=10)
    MeasurementFactory(measure=measure, period_start=datetime.date(2023, 1, 1), value=4, source="NCA")
    MeasurementFactory(measure=measure, period_start=datetime.date(2024, 1, 1), value=6, note="Two delayed")
    objective = ObjectiveFactory(priority=PriorityFactory(plan=indicator.plan))
    action_a = ActionFactory(objective=objective, code="9.1", title="Action of A", status=Status.ON_TRACK)
    action_b = ActionFactory(objective=objective, code="9.2", title="Action of B", status=Status.AT_RISK)
    ActionPartnerFactory(action=action_a, organisation=org_a)
    ActionPartnerFactory(action=action_b, organisation=org_b)
    indicator.actions.set([action_a, action_b])
    return indicator


def make_indicators(count, measures=2, values=3, actions=3):
    """`count` indicators on one plan, each with measures, values and linked actions: for query counts."""
    first = SuccessIndicatorFactory()
    objective = ObjectiveFactory(priority=PriorityFactory(plan=first.plan))
    made = []
    for i in range(count):
        indicator = first if i == 0 else SuccessIndicatorFactory(plan=first.plan)
        for _ in range(measures):
            measure = MeasureFactory(indicator=indicator, baseline_value=0, target_value=100)
            for year in range(values):
                MeasurementFactory(measure=measure, period_start=datetime.date(2020 + year, 1, 1), value=10 * year)
        indicator.actions.set([ActionFactory(objective=objective) for _ in range(actions)])
        made.append(indicator)
    return made
