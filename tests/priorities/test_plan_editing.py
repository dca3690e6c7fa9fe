"""Building the plan in the product: plans, priorities, objectives, actions and indicators, with their history."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from indicators.models import IndicatorChange
from indicators.services import indicator_create, indicator_update
from priorities.models import Action, ActionChange, ActionPartner, Objective, Plan, PlanChange, Priority
from priorities.services import (
    action_add,
    action_update_details,
    objective_create,
    objective_update,
    plan_create,
    plan_update,
    priority_create,
    priority_update,
)
from tests.factories import (
    ActionFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PartnerFactory,
    PlanFactory,
    PriorityFactory,
    SuccessIndicatorFactory,
)


@pytest.fixture
def plan(secretariat):
    return plan_create(by=secretariat, title="Strategic Plan 2027-2030", organisation_name="The office")


def history(item_kind, item):
    return list(
        PlanChange.objects.filter(item_kind=item_kind, item_id=item.pk)
        .order_by("pk")
        .values_list("field", "old_value", "new_value")
    )


# --- services -----------------------------------------------------------------------------------


def test_a_new_plan_records_its_creation_and_starting_values(secretariat, plan):
    assert plan.slug == "strategic-plan-2027-2030" and not plan.is_published
    assert history("plan", plan) == [
        ("created", "", "Strategic Plan 2027-2030"),
        ("organisation_name", "", "The office"),
    ]
    change = PlanChange.objects.filter(plan=plan).first()
    assert change.changed_by == secretariat and change.field_label in ("Created", "Publisher")
    # The same title again gets its own address.
    assert plan_create(by=secretariat, title="Strategic Plan 2027-2030").slug == "strategic-plan-2027-2030-2"


def test_editing_a_plan_records_old_and_new_values_and_nothing_when_unchanged(secretariat, plan):
    rows = plan_update(
        plan=plan,
        by=secretariat,
        title="Strategic Plan 2027-2031",
        start_date=datetime.date(2027, 4, 1),
        end_date=datetime.date(2031, 3, 31),
        source_url="https://example.org/plan.pdf",
        organisation_name="The office",
    )
    assert sorted((r.field, r.old_value, r.new_value) for r in rows) == [
        ("end_date", "", "31 March 2031"),
        ("source_url", "", "https://example.org/plan.pdf"),
        ("start_date", "", "1 April 2027"),
        ("title", "Strategic Plan 2027-2030", "Strategic Plan 2027-2031"),
    ]
    assert plan.title == "Strategic Plan 2027-2031"
    assert plan_update(plan=plan, by=secretariat, title="Strategic Plan 2027-2031") == []


def test_a_plan_ending_before_it_starts_is_refused_and_nothing_changes(secretariat, plan):
    before = PlanChange.objects.count()
    with pytest.raises(ValidationError) as refused:
        plan_update(plan=plan, by=secretariat, start_date=datetime.date(2027, 1, 1), end_date=datetime.date(2026, 1, 1))
    assert "end_date" in refused.value.message_dict
    plan.refresh_from_db()
    assert plan.start_date is None and PlanChange.objects.count() == before


def test_moving_the_plan_start_recounts_the_due_dates_of_actions_without_their_own_start(secretariat, plan):
    priority = priority_create(plan=plan, by=secretariat, number=1, title="P")
    objective = objective_create(priority=priority, by=secretariat, code="1.1", title="O")
    action = action_add(
        objective=objective, by=secretariat, code="1.11", title="A", description="D", update_frequency=3
    )
    assert action.next_update_due is None  # no start anywhere yet
    plan_update(plan=plan, by=secretariat, start_date=datetime.date(2027, 1, 1))
    action.refresh_from_db()
    assert action.next_update_due == datetime.date(2027, 4, 1)


def test_priority_numbers_are_unique_in_a_plan_with_a_clear_message(secretariat, plan):
    first = priority_create(plan=plan, by=secretariat, number=1, title=" Prevention ", aim="Stop it\r\nearly")
    assert (first.title, first.aim) == ("Prevention", "Stop it\nearly")
    with pytest.raises(ValidationError) as refused:
        priority_create(plan=plan, by=secretariat, number=1, title="Again")
    assert refused.value.message_dict == {"number": ["This plan already has a priority 1: choose another number."]}
    second = priority_create(plan=plan, by=secretariat, number=2, title="Protection")
    with pytest.raises(ValidationError):
        priority_update(priority=second, by=secretariat, number=1)
    assert Priority.objects.filter(plan=plan).count() == 2
    # Another plan may use the same number.
    priority_create(plan=PlanFactory(), by=secretariat, number=1, title="Elsewhere")
    rows = priority_update(priority=second, by=secretariat, number=3, title="Protection")
    assert [(r.field, r.old_value, r.new_value, r.item_label) for r in rows] == [("number", "2", "3", "Priority 2")]


def test_a_new_priority_records_the_values_it_has_and_no_empty_one(secretariat, plan):
    """Its history: created, its title, and its aim only when it has one (no "aim: '' to ''" row)."""
    bare = priority_create(plan=plan, by=secretariat, number=1, title="Prevention")
    with_aim = priority_create(plan=plan, by=secretariat, number=2, title="Protection", aim="Victims first")
    rows = PlanChange.objects.filter(plan=plan, item_kind=PlanChange.Kind.PRIORITY).order_by("pk")
    assert [(r.item_label, r.field, r.new_value) for r in rows.filter(item_id=bare.pk)] == [
        ("Priority 1", "created", "Priority 1"),
        ("Priority 1", "title", "Prevention"),
    ]
    assert [(r.field, r.new_value) for r in rows.filter(item_id=with_aim.pk)] == [
        ("created", "Priority 2"),
        ("title", "Protection"),
        ("aim", "Victims first"),
    ]


def test_objective_codes_are_unique_in_the_plan_and_keep_natural_order(secretariat, plan):
    one = priority_create(plan=plan, by=secretariat, number=1, title="One")
    two = priority_create(plan=plan, by=secretariat, number=2, title="Two")
    for code in ("1.10", "1.9", "1.2"):
        objective_create(priority=one, by=secretariat, code=code, title=f"Objective {code}")
    assert [o.code for o in one.objectives.all()] == ["1.2", "1.9", "1.10"]
    with pytest.raises(ValidationError) as refused:
        objective_create(priority=two, by=secretariat, code=" 1.9 ", title="Clash")
    assert refused.value.message_dict["code"] == ["Objective 1.9 already exists in priority 1: choose another code."]
    with pytest.raises(ValidationError):
        objective_create(priority=two, by=secretariat, code="  ", title="No code")
    assert not two.objectives.exists()


def test_renaming_an_objective_code_resorts_it_and_is_recorded(secretariat, plan):
    priority = priority_create(plan=plan, by=secretariat, number=1, title="One")
    first = objective_create(priority=priority, by=secretariat, code="1.1", title="First")
    objective_create(priority=priority, by=secretariat, code="1.2", title="Second")
    rows = objective_update(objective=first, by=secretariat, code="1.11", title="First")
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [("code", "1.1", "1.11")]
    assert [o.code for o in priority.objectives.all()] == ["1.2", "1.11"]
    assert Objective.objects.get(pk=first.pk).sort_key == "000001.000011"
    assert objective_update(objective=first, by=secretariat, code="1.11", title="First") == []


def test_a_new_action_records_its_partners_and_its_code_is_unique_in_the_plan(secretariat, plan):
    priority = priority_create(plan=plan, by=secretariat, number=1, title="One")
    first = objective_create(priority=priority, by=secretariat, code="1.1", title="First")
    second = objective_create(priority=priority, by=secretariat, code="1.2", title="Second")
    lead, support = OrganisationFactory(name="Lead org"), OrganisationFactory(name="Support org")
    action = action_add(
        objective=first,
        by=secretariat,
        code="1.11",
        title="Joint work",
        description="Work\r\ntogether.",
        partners=[(lead, ActionPartner.Role.LEAD), (support, ActionPartner.Role.SUPPORTING)],
        owner=secretariat,
        start_date=datetime.date(2027, 1, 1),
        update_frequency=3,
    )
    assert action.description == "Work\ntogether." and action.owner == secretariat
    assert action.next_update_due == datetime.date(2027, 4, 1)
    assert set(action.partnerships.values_list("organisation__name", "role")) == {
        ("Lead org", "lead"),
        ("Support org", "supporting"),
    }
    fields = list(ActionChange.objects.filter(action=action).order_by("pk").values_list("field", "new_value"))
    assert fields == [("created", "1.11 Joint work"), ("partners", "Lead org (lead); Support org (supporting)")]
    with pytest.raises(ValidationError) as refused:
        action_add(objective=second, by=secretariat, code="1.11", title="Clash", description="D")
    assert refused.value.message_dict["code"] == ["Action 1.11 already exists in this plan: choose another code."]
    assert Action.objects.filter(objective__priority__plan=plan).count() == 1


def test_an_action_moves_to_another_objective_of_its_plan_only(secretariat, plan):
    priority = priority_create(plan=plan, by=secretariat, number=1, title="One")
    first = objective_create(priority=priority, by=secretariat, code="1.1", title="First")
    second = objective_create(priority=priority, by=secretariat, code="1.2", title="Second")
    action = action_add(objective=first, by=secretariat, code="1.11", title="A", description="D")
    action_add(objective=second, by=secretariat, code="1.21", title="B", description="D")
    rows = action_update_details(action=action, by=secretariat, objective=second, code="1.22")
    assert sorted((r.field, r.old_value, r.new_value) for r in rows) == [
        ("code", "1.11", "1.22"),
        ("objective", "1.1 First", "1.2 Second"),
    ]
    action.refresh_from_db()
    assert action.objective == second and action.sort_key == "000001.000022"
    with pytest.raises(ValidationError) as refused:
        action_update_details(action=action, by=secretariat, code="1.21")
    assert "code" in refused.value.message_dict
    elsewhere = ObjectiveFactory()
    with pytest.raises(ValidationError) as refused:
        action_update_details(action=action, by=secretariat, objective=elsewhere)
    assert refused.value.message_dict == {"objective": ["Choose an objective of the same plan."]}
    action.refresh_from_db()
    assert action.objective == second and action.code == "1.22"


def test_indicators_are_added_and_edited_with_their_history(secretariat, plan):
    indicator = indicator_create(plan=plan, by=secretariat, code=" SI1 ", statement="More cases\r\nsolved.")
    assert (indicator.code, indicator.statement, indicator.position) == ("SI1", "More cases\nsolved.", 1)
    assert indicator_create(plan=plan, by=secretariat, code="SI2", statement="Fewer victims.").position == 2
    with pytest.raises(ValidationError) as refused:
        indicator_create(plan=plan, by=secretariat, code="si1", statement="Clash")
    assert "code" in refused.value.message_dict
    rows = indicator_update(indicator=indicator, by=secretariat, code="SI1", statement="More cases solved.")
    assert [(r.field, r.old_value, r.new_value) for r in rows] == [
        ("statement", "More cases\nsolved.", "More cases solved.")
    ]
    assert indicator_update(indicator=indicator, by=secretariat, code="SI1", statement="More cases solved.") == []
    assert list(IndicatorChange.objects.filter(indicator=indicator).order_by("pk").values_list("field", flat=True)) == [
        "created",
        "statement",
        "statement",
    ]


# --- views --------------------------------------------------------------------------------------


def test_the_secretariat_builds_a_plan_through_the_forms(client, secretariat):
    client.force_login(secretariat)
    response = client.post(
        reverse("priorities:plan-create"),
        {"title": "Next plan", "organisation_name": "", "start_date": "2027-04-01", "end_date": "", "source_url": ""},
    )
    plan = Plan.objects.get(title="Next plan")
    assert response.status_code == 302 and response["Location"].endswith(f"#plan-{plan.pk}")
    client.post(reverse("priorities:priority-create", args=[plan.pk]), {"number": "1", "title": "Prevent"})
    priority = plan.priorities.get()
    client.post(reverse("priorities:objective-create", args=[priority.pk]), {"code": "1.1", "title": "Know more"})
    objective = priority.objectives.get()
    org = OrganisationFactory()
    response = client.post(
        reverse("priorities:action-create", args=[objective.pk]),
        {
            "code": "1.11",
            "title": "Research",
            "description": "Commission research.",
            "owner": secretariat.pk,
            "start_date": "2027-05-01",
            "target_date": "2028-05-01",
            "update_frequency": "6",
            "lead_partners": [org.pk],
        },
    )
    action = Action.objects.get(code="1.11")
    assert response.status_code == 302 and response["Location"] == action.get_absolute_url()
    assert action.partnerships.get().role == "lead" and action.update_frequency == 6
    response = client.post(
        reverse("indicators:indicator-create", args=[plan.pk]), {"code": "SI1", "statement": "Known."}
    )
    indicator = plan.indicators.get()
    assert response["Location"] == reverse("indicators:indicator-actions", args=[indicator.pk])


def test_a_code_that_clashes_is_a_form_error_not_a_server_error(client, secretariat):
    objective = ObjectiveFactory(code="3.1")
    ActionFactory(objective=objective, code="3.11")
    client.force_login(secretariat)
    response = client.post(
        reverse("priorities:action-create", args=[objective.pk]),
        {"code": "3.11", "title": "Again", "description": "D"},
    )
    assert response.status_code == 400
    assert "Action 3.11 already exists in this plan: choose another code." in response.content.decode()
    response = client.post(
        reverse("priorities:objective-create", args=[objective.priority_id]), {"code": "3.1", "title": "Again"}
    )
    assert response.status_code == 400 and "Objective 3.1 already exists" in response.content.decode()
    response = client.post(
        reverse("priorities:priority-create", args=[objective.priority.plan_id]),
        {"number": str(objective.priority.number), "title": "Again"},
    )
    assert response.status_code == 400 and "already has a priority" in response.content.decode()
    assert Action.objects.count() == 1 and Objective.objects.count() == 1 and Priority.objects.count() == 1


def test_edit_pages_show_the_item_history(client, secretariat, plan):
    priority = priority_create(plan=plan, by=secretariat, number=4, title="Old title")
    priority_update(priority=priority, by=secretariat, title="New title")
    client.force_login(secretariat)
    page = client.get(reverse("priorities:priority-edit", args=[priority.pk])).content.decode()
    assert "Old title" in page and "New title" in page and "History" in page
    page = client.get(reverse("priorities:plan-edit", args=[plan.pk])).content.decode()
    assert "Strategic Plan 2027-2030" in page and "The office" in page
    indicator = indicator_create(plan=plan, by=secretariat, code="SI1", statement="First words")
    indicator_update(indicator=indicator, by=secretariat, statement="Second words")
    page = client.get(reverse("indicators:indicator-update", args=[indicator.pk])).content.decode()
    assert "First words" in page and "Second words" in page


def test_the_action_edit_form_moves_an_action_within_its_plan(client, secretariat):
    action = ActionFactory()
    # Not "9.<n>": ObjectiveFactory's own codes are, and the 99th of them in this process would clash.
    other = ObjectiveFactory(priority=action.objective.priority, code="8.99")
    foreign = ObjectiveFactory()
    client.force_login(secretariat)
    url = reverse("priorities:action-edit", args=[action.pk])
    form = client.get(url).context["form"]
    assert set(form.fields["objective"].queryset) == {action.objective, other}
    data = {
        "objective": other.pk,
        "code": action.code,
        "title": action.title,
        "description": action.description,
        "version": action.version,
    }
    assert client.post(url, {**data, "objective": foreign.pk}).status_code == 400
    assert client.post(url, data).status_code == 302
    action.refresh_from_db()
    assert action.objective == other
    assert ActionChange.objects.filter(action=action, field="objective").exists()


def test_the_outline_links_every_item_to_its_form_for_the_secretariat_only(client, secretariat, commissioner, plan):
    priority = priority_create(plan=plan, by=secretariat, number=1, title="One")
    objective = objective_create(priority=priority, by=secretariat, code="1.1", title="Empty objective")
    action = action_add(objective=objective, by=secretariat, code="1.11", title="Act", description="D")
    indicator = indicator_create(plan=plan, by=secretariat, code="SI1", statement="Better")
    indicator.actions.add(action)
    client.force_login(secretariat)
    page = client.get(reverse("priorities:plan")).content.decode()
    for url in (
        reverse("priorities:plan-create"),
        reverse("priorities:plan-edit", args=[plan.pk]),
        reverse("priorities:priority-create", args=[plan.pk]),
        reverse("priorities:priority-edit", args=[priority.pk]),
        reverse("priorities:objective-create", args=[priority.pk]),
        reverse("priorities:objective-edit", args=[objective.pk]),
        reverse("priorities:action-create", args=[objective.pk]),
        reverse("priorities:action-edit", args=[action.pk]),
        reverse("indicators:indicator-create", args=[plan.pk]),
        reverse("indicators:indicator-update", args=[indicator.pk]),
        reverse("indicators:indicator-actions", args=[indicator.pk]),
    ):
        assert f'href="{url}' in page, url
    assert f'id="plan-history-{plan.pk}"' in page and "Objective 1.1" in page
    client.force_login(commissioner)
    page = client.get(reverse("priorities:plan")).content.decode()
    assert "Act" in page and reverse("priorities:plan-edit", args=[plan.pk]) not in page
    assert "Add an action" not in page and "Recent changes" not in page


def test_the_outline_runs_a_fixed_number_of_queries(client, secretariat, plan, django_assert_max_num_queries):
    client.force_login(secretariat)
    for number in range(1, 4):
        priority = PriorityFactory(plan=plan, number=number)
        for code in range(1, 4):
            objective = ObjectiveFactory(priority=priority, code=f"{number}.{code}")
            for n in range(3):
                ActionFactory(objective=objective, code=f"{number}.{code}{n}")
        SuccessIndicatorFactory(plan=plan).actions.add(*Action.objects.all()[:3])
        priority_update(priority=priority, by=secretariat, title=f"Priority {number} renamed")
    # ... and the first ten actions of each objective with the number of all (the page is bounded),
    # and the plans to choose from (plan_choice.py)
    with django_assert_max_num_queries(13):
        assert client.get(reverse("priorities:plan")).status_code == 200


def test_partners_and_the_commissioner_cannot_change_the_plan(client, commissioner, plan):
    for user in (commissioner, PartnerFactory()):
        client.force_login(user)
        assert client.post(reverse("priorities:plan-edit", args=[plan.pk]), {"title": "Taken"}).status_code == 403
        assert client.post(reverse("priorities:plan-create"), {"title": "New"}).status_code == 403
    plan.refresh_from_db()
    assert plan.title == "Strategic Plan 2027-2030" and Plan.objects.count() == 1


def test_a_colleagues_move_survives_my_stale_save_of_the_action(client, secretariat):
    """The merge on a stale save treats the objective and code like any other field."""
    from tests.factories import SecretariatFactory

    action = ActionFactory()
    other = ObjectiveFactory(priority=action.objective.priority, code="9.98")
    client.force_login(secretariat)
    form = client.get(reverse("priorities:action-edit", args=[action.pk])).context["form"]
    mine = {name: ("" if form[name].value() is None else form[name].value()) for name in form.fields}
    action_update_details(action=action, by=SecretariatFactory(), objective=other, code="9.981")
    mine["title"] = "My title"
    response = client.post(reverse("priorities:action-edit", args=[action.pk]), mine)
    assert response.status_code == 409
    merged = response.context["form"]
    assert str(merged["objective"].value()) == str(other.pk) and merged["code"].value() == "9.981"
    assert client.post(reverse("priorities:action-edit", args=[action.pk]), merged.data).status_code == 302
    action.refresh_from_db()
    assert (action.objective, action.code, action.title) == (other, "9.981", "My title")
