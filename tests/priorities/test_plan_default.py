"""Which plan a person sees when they have not chosen one (issue 22, item 10).

The current plan stays everyone's default until the next plan starts or the person chooses it in the
plan switcher. A link with `?plan=` shows that plan (a copied link shows a colleague the same plan)
and remembers nothing; only the switcher's choice is remembered (a POST, never a GET).
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from priorities.models import Plan, PlanChoice
from priorities.plan_choice import default_plan
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    PartnerFactory,
    PlanFactory,
    PriorityFactory,
    SecretariatFactory,
)

DASHBOARD = reverse("overview:dashboard")
REGISTER = reverse("priorities:action-list")
CHOOSE = reverse("priorities:plan-choose")
d = datetime.date


def years(n):
    return timezone.localdate() + datetime.timedelta(days=round(365.25 * n))


def plan_with_actions(title, slug, start, end, codes):
    plan = PlanFactory(title=title, slug=slug, start_date=start, end_date=end)
    objective = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=5), code="5.2")
    return plan, [ActionFactory(objective=objective, code=code, title=f"{title} {code}") for code in codes]


@pytest.fixture
def current(db):
    """The plan in use: started a year ago, ends in a year."""
    return plan_with_actions("Current plan", "current-plan", years(-1), years(1), ["5.21", "5.22"])


def shown(client, **query):
    """The plan the dashboard shows (as the switcher and every link on it name it)."""
    response = client.get(DASHBOARD, query)
    assert response.status_code == 200
    return response.wsgi_request._plan_switch.plan


def test_starting_the_next_plan_keeps_the_current_plan_everyones_default(client, secretariat, commissioner, current):
    plan, actions = current
    client.force_login(secretariat)
    response = client.post(
        reverse("priorities:plan-start-next", args=[plan.pk]),
        {
            "title": "Next plan",
            "start_date": years(2).isoformat(),
            "end_date": years(5).isoformat(),
            "actions": [actions[0].pk],
        },
        follow=True,
    )
    # The page the secretariat lands on shows the new plan (its link names it) ...
    assert "Next plan started: 1 action carried forward" in response.content.decode()
    assert response.wsgi_request._plan_switch.plan.title == "Next plan"
    # ... and nobody's default moved: the secretariat's next page, and the commissioner's, show the current plan.
    assert shown(client) == plan
    assert not PlanChoice.objects.exists()
    client.force_login(commissioner)
    assert shown(client) == plan
    # Once the next plan has started, it is everyone's default.
    following = Plan.objects.get(title="Next plan")
    Plan.objects.filter(pk=plan.pk).update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    Plan.objects.filter(pk=following.pk).update(start_date=timezone.localdate())
    assert shown(client) == following
    client.force_login(secretariat)
    assert shown(client) == following


def test_an_undated_plan_in_use_stays_the_default_when_a_dated_next_plan_is_started(client, secretariat, db):
    """The demo's plan has no dates: a next plan starting in two years must not become the default."""
    undated, _ = plan_with_actions("Undated plan", "undated-plan", None, None, ["5.21"])
    plan_with_actions("Plan 2028", "plan-2028", years(2), years(5), ["5.21"])
    client.force_login(secretariat)
    assert shown(client) == undated


def test_a_link_naming_a_plan_shows_it_and_remembers_nothing(client, secretariat, current):
    plan, _ = current
    other, _ = plan_with_actions("Next plan", "next-plan", years(2), years(5), ["5.21"])
    client.force_login(secretariat)
    assert shown(client, plan="next-plan") == other
    assert shown(client) == plan
    assert not PlanChoice.objects.exists()


def test_the_switcher_remembers_a_choice_with_a_post(client, secretariat, current):
    plan, _ = current
    other, _ = plan_with_actions("Next plan", "next-plan", years(2), years(5), ["5.21"])
    client.force_login(secretariat)
    html = client.get(DASHBOARD).content.decode()
    switcher = (
        html.split('class="app-plan-switcher__form"')[0].rsplit("<form", 1)[1]
        + html.split('class="app-plan-switcher__form"')[1].split("</form>")[0]
    )
    assert 'method="post"' in switcher and f'action="{CHOOSE}"' in switcher and "csrfmiddlewaretoken" in switcher
    assert f'name="next" value="{DASHBOARD}"' in switcher
    response = client.post(CHOOSE, {"plan": "next-plan", "next": DASHBOARD, "since": "2026-01-01"})
    assert response.status_code == 302 and response["Location"] == f"{DASHBOARD}?plan=next-plan&since=2026-01-01"
    assert PlanChoice.objects.get(user=secretariat).plan == other
    # Remembered on every page without ?plan=, for this person only.
    assert shown(client) == other
    client.force_login(SecretariatFactory())
    assert shown(client) == plan
    # Choosing the default again forgets the choice: the person follows the current plan from then on.
    client.force_login(secretariat)
    client.post(CHOOSE, {"plan": "current-plan", "next": DASHBOARD})
    assert not PlanChoice.objects.exists()
    assert shown(client) == plan


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "", "dashboard"]
)
def test_the_switcher_goes_back_only_to_a_page_of_this_site(client, secretariat, current, target):
    plan_with_actions("Next plan", "next-plan", years(2), years(5), ["5.21"])
    client.force_login(secretariat)
    response = client.post(CHOOSE, {"plan": "next-plan", "next": target})
    assert response.status_code == 302 and response["Location"] == "/?plan=next-plan"


def test_the_switcher_refuses_a_plan_the_person_may_not_see(client, current, org_a, org_b):
    plan, actions = current
    ActionPartnerFactory(action=actions[0], organisation=org_a)
    other, other_actions = plan_with_actions("Other plan", "other-plan", years(-1), years(1), ["7.1"])
    ActionPartnerFactory(action=other_actions[0], organisation=org_b)
    client.force_login(PartnerFactory(organisation=org_a))
    for value in ("other-plan", "no-such-plan", "x" * 300):
        response = client.post(CHOOSE, {"plan": value, "next": REGISTER}, follow=True)
        assert "for you to see" in response.content.decode()
    assert not PlanChoice.objects.exists()
    assert client.get(CHOOSE).status_code == 405


def test_the_default_rule():
    today = d(2025, 6, 1)
    current_long = Plan(title="a", start_date=d(2020, 1, 1), end_date=d(2030, 1, 1))
    current_recent = Plan(title="b", start_date=d(2025, 1, 1), end_date=d(2027, 1, 1))
    future = Plan(title="c", start_date=d(2028, 1, 1), end_date=d(2031, 1, 1))
    later = Plan(title="c2", start_date=d(2029, 1, 1), end_date=d(2031, 1, 1))
    past = Plan(title="d", start_date=d(2010, 1, 1), end_date=d(2015, 1, 1))
    undated = Plan(title="e")
    # The most recent plan that is current; a plan without dates counts as started and not ended.
    assert default_plan([future, current_recent, current_long, past, undated], today) is current_recent
    assert default_plan([future, past, undated], today) is undated
    # Between two plans, the last one stays the default until the next one starts.
    assert default_plan([future, past], today) is past
    # Nothing started yet: the first to start.
    assert default_plan([later, future], today) is future
    assert default_plan([undated], today) is undated
    assert default_plan([], today) is None
