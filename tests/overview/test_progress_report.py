"""The progress report lists every action (issue 22, item 5).

It is the document read in meetings: for a plan of up to 500 actions it lists every action (code,
title, status then, latest note then, lead partner, dates) under its objective, on one page; beyond
500 it is in parts by priority, and says so. Its query count does not grow with the plan.
"""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from overview.page_data import REPORT_ACTIONS_LIMIT
from priorities.models import Action, ActionPartner, Status
from priorities.services import action_record_update
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    MeasureFactory,
    MeasurementFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PlanFactory,
    PriorityFactory,
    SuccessIndicatorFactory,
)

REPORT = reverse("overview:progress-report")
ROW = re.compile(r'<tr class="govuk-table__row" id="report-([^"]+)">')


def bulk_actions(objective, count, prefix, lead=None):
    """`count` actions under `objective` (codes prefix.1 ...), made in bulk, each led by `lead` if given."""
    actions = Action.objects.bulk_create(
        Action(
            objective=objective,
            code=f"{prefix}.{n}",
            title=f"Action {prefix}.{n}",
            description="",
            sort_key=f"{prefix}.{n:06}",
            start_date=datetime.date(2025, 1, 1),
            target_date=datetime.date(2027, 6, 30),
        )
        for n in range(1, count + 1)
    )
    if lead is not None:
        ActionPartner.objects.bulk_create(
            ActionPartner(action=a, organisation=lead, role=ActionPartner.Role.LEAD) for a in actions
        )
    return actions


@pytest.fixture
def plan(db):
    return PlanFactory(title="The plan", slug="the-plan")


def sections(html):
    """{objective code: [action codes listed under it]} in the order the page lists them."""
    found = {}
    for section in html.split('<section class="app-report-objective"')[1:]:
        code = re.search(r'data-objective="([^"]+)"', section).group(1)
        found.setdefault(code, []).extend(ROW.findall(section.split("</section>")[0]))
    return found


def row(html, code):
    return html.split(f'id="report-{code}"')[1].split("</tr>")[0]


def test_up_to_500_actions_every_action_is_listed_under_its_objective_on_one_page(client, commissioner, plan):
    lead = OrganisationFactory(name="Europol")
    first = PriorityFactory(plan=plan, number=1)
    a, b = ObjectiveFactory(priority=first, code="1.1"), ObjectiveFactory(priority=first, code="1.2")
    c = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=2), code="2.1")
    ObjectiveFactory(priority=c.priority, code="2.2", title="Nothing yet")
    bulk_actions(a, 200, "1.1", lead)
    bulk_actions(b, 150, "1.2", lead)
    bulk_actions(c, REPORT_ACTIONS_LIMIT - 350, "2.1")
    client.force_login(commissioner)
    html = client.get(REPORT).content.decode()
    listed = sections(html)
    assert [len(listed[code]) for code in ("1.1", "1.2", "2.1")] == [200, 150, 150]
    assert listed["1.1"] == [f"1.1.{n}" for n in range(1, 201)]
    assert sum(len(codes) for codes in listed.values()) == len(set(ROW.findall(html))) == REPORT_ACTIONS_LIMIT
    # An objective without actions says so; no parts, no pagination.
    assert "No actions under this objective." in html.split('data-objective="2.2"')[1].split("</section>")[0]
    assert "govuk-pagination" not in html and "in parts" not in html
    assert f"lists all {REPORT_ACTIONS_LIMIT} actions of The plan" in html


def test_each_row_has_code_title_status_and_note_then_lead_partner_and_dates(client, commissioner, secretariat, plan):
    objective = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=5), code="5.2")
    action = ActionFactory(
        objective=objective,
        code="5.21",
        title="Joint investigations",
        start_date=datetime.date(2025, 3, 1),
        target_date=datetime.date(2026, 12, 31),
    )
    ActionPartnerFactory(action=action, organisation=OrganisationFactory(name="Eurojust"), role="supporting")
    ActionPartnerFactory(action=action, organisation=OrganisationFactory(name="Europol"), role="lead")
    unled = ActionFactory(objective=objective, code="5.22")
    ActionPartnerFactory(action=unled, organisation=OrganisationFactory(name="Home Office"), role="supporting")
    then = timezone.now() - datetime.timedelta(days=20)
    action_record_update(action=action, status=Status.ON_TRACK, note="Teams formed", by=secretariat, at=then)
    action_record_update(action=action, status=Status.OFF_TRACK, note="Funding withdrawn", by=secretariat)
    client.force_login(commissioner)
    today = row(client.get(REPORT).content.decode(), "5.21")
    assert "5.21" in today and "Joint investigations" in today
    assert "Off track" in today and "Funding withdrawn" in today and "Teams formed" not in today
    assert "Europol" in today and "Eurojust" not in today
    assert "1 Mar 2025" in today and "31 Dec 2026" in today
    # No lead named (as in the published Priority 5 plan): its partners, saying so.
    assert "Home Office" in row(client.get(REPORT).content.decode(), "5.22")
    assert "no lead named" in row(client.get(REPORT).content.decode(), "5.22")
    # As of a date: the status and the note as they were then.
    past = (timezone.localdate() - datetime.timedelta(days=10)).isoformat()
    html = client.get(REPORT, {"as_of": past}).content.decode()
    then_row = row(html, "5.21")
    assert "On track" in then_row and "Teams formed" in then_row and "Funding withdrawn" not in then_row
    assert f"{then:%-d %b %Y}" in then_row
    assert "Titles, dates and lead partners are as they are today" in html
    before = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
    assert "Not started" in row(client.get(REPORT, {"as_of": before}).content.decode(), "5.21")


def test_beyond_500_the_report_is_in_parts_by_priority_and_says_so(client, commissioner, plan):
    first = PriorityFactory(plan=plan, number=1, title="Big priority")
    a, b = ObjectiveFactory(priority=first, code="1.1"), ObjectiveFactory(priority=first, code="1.2")
    small = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=2, title="Small priority"), code="2.1")
    bulk_actions(a, 450, "1.1")
    bulk_actions(b, 150, "1.2")
    bulk_actions(small, 30, "2.1")
    client.force_login(commissioner)
    pages = [client.get(REPORT, {"page": n}).content.decode() for n in (1, 2, 3)]
    for html in pages:
        assert "630 actions, more than the 500 one page lists: this report is in 3 parts, by priority" in html
    assert "Part 1 of 3: priority 1, Big priority, actions 1 to 500 of its 600" in pages[0]
    assert "Part 2 of 3: priority 1, Big priority, actions 501 to 600 of its 600" in pages[1]
    assert "Part 3 of 3: priority 2, Small priority, actions 1 to 30 of its 30" in pages[2]
    listed = [sections(html) for html in pages]
    assert [sum(map(len, part.values())) for part in listed] == [500, 100, 30]
    assert listed[0]["1.1"] == [f"1.1.{n}" for n in range(1, 451)] and len(listed[0]["1.2"]) == 50
    assert listed[1] == {"1.2": [f"1.2.{n}" for n in range(51, 151)]}
    # An objective split across parts says where it continues; every action is listed exactly once.
    assert "continues in part 2" in pages[0] and "continued from part 1" in pages[1]
    every = [code for part in listed for codes in part.values() for code in codes]
    assert len(every) == len(set(every)) == 630
    # The summary per objective is on every part, its links lead to the part that lists the objective.
    assert f'href="?page=3#objective-actions-{small.pk}"' in pages[0]
    assert f'href="#objective-actions-{a.pk}"' in pages[0]
    # Past the last part: the last part; nonsense: the first.
    assert "Part 3 of 3" in client.get(REPORT, {"page": 99}).content.decode()
    assert "Part 1 of 3" in client.get(REPORT, {"page": "x"}).content.decode()


def make_report_plan(plan, count):
    """`count` actions over two priorities and four objectives, with leads, updates and an indicator."""
    lead = OrganisationFactory()
    priorities = [PriorityFactory(plan=plan, number=number) for number in (1, 2)]
    objectives = [ObjectiveFactory(priority=p, code=f"{p.number}.{n}") for p in priorities for n in (1, 2)]
    for index, objective in enumerate(objectives):
        bulk_actions(objective, count // 4, objective.code, lead if index % 2 else None)
    measure = MeasureFactory(indicator=SuccessIndicatorFactory(plan=plan))
    MeasurementFactory(measure=measure, is_public=True)


@pytest.mark.parametrize("count", [40, REPORT_ACTIONS_LIMIT, 4 * REPORT_ACTIONS_LIMIT])
def test_the_report_runs_a_fixed_number_of_queries(commissioner, plan, django_assert_max_num_queries, count):
    make_report_plan(plan, count)
    client = Client()
    client.force_login(commissioner)
    # session, user, the plans (plan_choice.py), the plan, priorities, objectives, indicators, measures,
    # values as of (measurements and their corrections), counts per objective and status, the actions listed,
    # and the report's row in the access log
    for query in ({}, {"as_of": "2024-01-01"}, {"page": 2}):
        with django_assert_max_num_queries(13):
            response = client.get(REPORT, query)
        assert response.status_code == 200
        assert len(ROW.findall(response.content.decode())) == min(count, REPORT_ACTIONS_LIMIT)
