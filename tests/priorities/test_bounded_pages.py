"""Issue 18, bounded pages: the plan page shows the first actions of each objective, never every action.

(The partner home, the review queue and the report: tests/overview/test_bounded_pages.py.)
"""

import re

import pytest
from django.urls import reverse

from tests.factories import ObjectiveFactory, OrganisationFactory, partnered_actions


@pytest.mark.parametrize("count", [30, 300])
def test_the_plan_page_shows_ten_actions_an_objective_and_links_to_all(
    client, secretariat, django_assert_max_num_queries, count
):
    objective = ObjectiveFactory(code="6.4")
    partnered_actions(OrganisationFactory(), count, objective=objective, prefix="6.4")
    client.force_login(secretariat)
    # session, user, review count, the plans to choose from (plan_choice.py), the plan, priorities,
    # objectives, publications, outline changes, indicators, first actions, totals
    with django_assert_max_num_queries(12):
        html = client.get(reverse("priorities:plan")).content.decode()
    assert len(re.findall(r'<a class="govuk-link" href="/actions/\d+/">6\.4\.', html)) == 10
    assert f"The first 10 of {count:,} actions" in html
    assert f'href="/actions/?objective={objective.pk}"' in html
