"""The overview pages' selectors (overview/page_data.py) run a fixed number of queries, however large the plan."""

import datetime

import pytest
from django.utils import timezone

from overview.page_data import REPORT_ACTIONS_LIMIT, dashboard_data, progress_report_data
from tests.factories import PlanFactory
from tests.overview.test_dashboard import make_plan
from tests.overview.test_progress_report import make_report_plan


def _evaluated(data):
    """Every list the dashboard's template reads, read now (some are QuerySets until then); the indicators
    with what for_page() prefetches."""
    for key in ("in_trouble", "overdue", "indicators", "status_changes", "engagement"):
        data[key] = list(data[key])
    return data


@pytest.mark.parametrize("count", [15, 1500])
def test_the_dashboard_selector_runs_a_fixed_number_of_queries(commissioner, django_assert_max_num_queries, count):
    actions = make_plan(count)
    plan = actions[0].objective.priority.plan
    today = timezone.localdate()
    # stored counts, overdue count, objectives, changes, engagement (counts, organisation names), at risk,
    # overdue, indicators (+ measures, linked actions, measurements)
    with django_assert_max_num_queries(12):
        data = _evaluated(
            dashboard_data(
                user=commissioner,
                plan=plan,
                since=today - datetime.timedelta(days=30),
                today=today,
                register_url=lambda **filters: "/actions/",
                plan_slug=None,
                plan_query="",
            )
        )
    assert data["total"] == sum(1 for action in actions if action.objective.priority.plan_id == plan.pk)


@pytest.mark.parametrize("count", [40, 4 * REPORT_ACTIONS_LIMIT])
def test_the_progress_report_selector_runs_a_fixed_number_of_queries(
    commissioner, db, django_assert_max_num_queries, count
):
    plan = PlanFactory(title="The plan", slug="the-plan")
    make_report_plan(plan, count)
    # the plan, priorities, objectives, indicators, measures, values as of (measurements and their
    # corrections), counts per objective and status, the actions listed
    for as_of, page in ((timezone.localdate(), 1), (datetime.date(2024, 1, 1), 2)):
        with django_assert_max_num_queries(9):
            report = progress_report_data(user=commissioner, as_of=as_of, plan=plan, page=page)
        listed = [a for p in report.plans for pr in p.priorities.all() for o in pr.objectives.all() for a in o.listed]
        assert len(listed) == (min(count, REPORT_ACTIONS_LIMIT) if as_of == timezone.localdate() else len(listed))
