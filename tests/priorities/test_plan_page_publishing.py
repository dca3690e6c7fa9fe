"""The plan page shows the chosen plan; publishing and unpublishing go through a confirmation (issue 22, item 6).

`/plan/` showed every plan at once, newest first, ignoring `?plan=`, and its first "Publish" button
belonged to a future plan and acted at once.
"""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from priorities.models import Plan, PlanPublication, Status
from priorities.services import action_archive, action_record_update, plan_publish, progress_update_set_public
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    MeasureFactory,
    MeasurementFactory,
    ObjectiveFactory,
    PlanFactory,
    PriorityFactory,
    SuccessIndicatorFactory,
)

PLAN = reverse("priorities:plan")
PUBLIC_JSON = reverse("public:plan-json")


def years(n):
    return timezone.localdate() + datetime.timedelta(days=round(365.25 * n))


def make_plan(title, slug, start, end, codes):
    plan = PlanFactory(title=title, slug=slug, start_date=start, end_date=end)
    objective = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=5), code="5.2")
    return plan, [ActionFactory(objective=objective, code=code, title=f"{title} {code}") for code in codes]


@pytest.fixture
def plans(db, secretariat, org_a, org_b):
    """The current plan (3 live actions, 1 archived, public and internal updates, an indicator) and the next one."""
    current, actions = make_plan("Current plan", "current-plan", years(-1), years(1), ["5.21", "5.22", "5.23", "5.24"])
    ActionPartnerFactory(action=actions[0], organisation=org_a)
    ActionPartnerFactory(action=actions[1], organisation=org_a)
    ActionPartnerFactory(action=actions[1], organisation=org_b)
    public = action_record_update(action=actions[0], status=Status.ON_TRACK, note="Public note", by=secretariat)
    progress_update_set_public(update=public, public=True, by=secretariat)
    action_record_update(action=actions[1], status=Status.AT_RISK, note="Internal note", by=secretariat)
    action_archive(action=actions[3], by=secretariat)
    measure = MeasureFactory(indicator=SuccessIndicatorFactory(plan=current))
    MeasurementFactory(measure=measure, is_public=True)
    MeasurementFactory(measure=measure, is_public=False)
    following, next_actions = make_plan("Next plan", "next-plan", years(2), years(5), ["5.21"])
    ActionPartnerFactory(action=next_actions[0], organisation=org_a)
    return current, following


def headings(html):
    return re.findall(r'<h1 class="govuk-heading-l"[^>]*>([^<]+)</h1>', html)


@pytest.mark.parametrize("role", ["secretariat", "commissioner", "partner_a"])
def test_the_plan_page_shows_the_chosen_plan_with_the_switcher(client, plans, request, role):
    client.force_login(request.getfixturevalue(role))
    html = client.get(PLAN).content.decode()
    assert headings(html) == ["Current plan"]
    assert 'id="plan-switcher"' in html and '<option value="current-plan" selected>' in html
    assert "Next plan 5.21" not in html
    html = client.get(PLAN, {"plan": "next-plan"}).content.decode()
    assert headings(html) == ["Next plan"]
    assert "Next plan 5.21" in html and "Current plan 5.21" not in html


def test_publish_is_a_link_to_a_confirmation_never_a_button_that_acts(client, secretariat, plans):
    current, following = plans
    client.force_login(secretariat)
    html = client.get(PLAN, {"plan": "next-plan"}).content.decode()
    publish = reverse("priorities:plan-publish", args=[following.pk])
    assert f'action="{publish}"' not in html
    assert re.search(rf'<a href="{publish}" role="button"[^>]*>Publish', html)
    assert reverse("priorities:plan-publish", args=[current.pk]) not in html


def test_the_confirmation_names_the_plan_and_what_becomes_public_then_publishing_shows_just_that(
    client, secretariat, plans
):
    current, _ = plans
    client.force_login(secretariat)
    url = reverse("priorities:plan-publish", args=[current.pk])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Publish Current plan?" in html
    assert "has not started" not in html
    scope = response.context["scope"]
    assert (scope["priorities"], scope["objectives"], scope["actions"]) == (1, 1, 3)
    assert (scope["organisations"], scope["updates"], scope["indicators"], scope["measurements"]) == (2, 1, 1, 1)
    assert "3 actions" in html and "1 progress update marked public" in html
    assert "No other plan is published" in html
    assert 'name="csrfmiddlewaretoken"' in html and f'action="{url}"' in html
    # Nothing happened on GET.
    assert not PlanPublication.objects.exists() and not Plan.objects.get(pk=current.pk).is_published
    response = client.post(url, follow=True)
    assert "Current plan is published" in response.content.decode()
    assert Plan.objects.get(pk=current.pk).is_published
    # What the confirmation said is what the open data now holds.
    [document] = client.get(PUBLIC_JSON).json()["plans"]
    actions = [a for p in document["priorities"] for o in p["objectives"] for a in o["actions"]]
    assert len(actions) == scope["actions"]
    assert sum(len(a["updates"]) for a in actions) == scope["updates"]
    assert len({p["name"] for a in actions for p in a["partners"]}) == scope["organisations"]
    assert len(document["indicators"]) == scope["indicators"]
    assert sum(len(m["values"]) for i in document["indicators"] for m in i["measures"]) == scope["measurements"]


def test_publishing_a_plan_that_has_not_started_says_so(client, secretariat, plans):
    current, following = plans
    plan_publish(plan=current, by=secretariat)
    client.force_login(secretariat)
    html = client.get(reverse("priorities:plan-publish", args=[following.pk])).content.decode()
    assert "Publish Next plan?" in html
    assert f"Next plan has not started yet: it starts on {following.start_date:%-d %B %Y}" in html
    assert "Current plan stays published" in html
    assert not Plan.objects.get(pk=following.pk).is_published


def test_unpublishing_goes_through_a_confirmation_naming_what_stops_being_public(client, secretariat, plans):
    current, _ = plans
    plan_publish(plan=current, by=secretariat)
    client.force_login(secretariat)
    html = client.get(PLAN).content.decode()
    url = reverse("priorities:plan-unpublish", args=[current.pk])
    assert f'action="{url}"' not in html and re.search(rf'<a href="{url}" role="button"[^>]*>Unpublish', html)
    response = client.get(url)
    html = response.content.decode()
    assert "Unpublish Current plan?" in html and "3 actions" in html
    assert "No plan will be public" in html
    assert Plan.objects.get(pk=current.pk).is_published
    response = client.post(url, follow=True)
    assert "Current plan is unpublished" in response.content.decode()
    assert not Plan.objects.get(pk=current.pk).is_published
    # Asked again, the page says there is nothing to do.
    html = client.get(url).content.decode()
    assert "Current plan is not published" in html and 'name="csrfmiddlewaretoken"' not in html.split("<main")[1]


@pytest.mark.parametrize("role", ["commissioner", "partner_a"])
def test_only_the_secretariat_sees_the_confirmations(client, plans, request, role):
    current, _ = plans
    client.force_login(request.getfixturevalue(role))
    for name in ("priorities:plan-publish", "priorities:plan-unpublish"):
        assert client.get(reverse(name, args=[current.pk])).status_code == 403
        assert client.post(reverse(name, args=[current.pk])).status_code == 403
    assert not Plan.objects.get(pk=current.pk).is_published


def test_an_unknown_plan_is_not_found(client, secretariat, plans):
    client.force_login(secretariat)
    assert client.get(reverse("priorities:plan-publish", args=[999999])).status_code == 404
    assert client.post(reverse("priorities:plan-unpublish", args=[999999])).status_code == 404
