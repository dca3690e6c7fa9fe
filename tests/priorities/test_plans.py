"""Several plans: the plan switcher (priorities/plan_choice.py), per-plan pages, and starting the next plan."""

import datetime
import io
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from openpyxl import load_workbook

from messaging.models import Reminder
from messaging.reminders import reminders_run_daily
from priorities.models import Action, ActionChange, ActionPartner, Plan, PlanChoice, Status, UpdateFrequency
from priorities.services import action_record_update, plan_start_next
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PartnerFactory,
    PlanFactory,
    PriorityFactory,
    SecretariatFactory,
    SuccessIndicatorFactory,
)

REGISTER = reverse("priorities:action-list")
CSV = reverse("priorities:action-export-csv")
XLSX = reverse("priorities:action-export-xlsx")
DASHBOARD = reverse("overview:dashboard")
REPORT = reverse("overview:progress-report")
REPORT_XLSX = reverse("overview:progress-report-xlsx")
INDICATORS = reverse("indicators:indicator-list")
CHOOSE = reverse("priorities:plan-choose")
d = datetime.date


def codes_in(response):
    table = response.content.decode().split('id="action-register"')[1].split("</table>")[0]
    return sorted(re.findall(r'<td class="[^"]*"><a class="govuk-link" href="/actions/\d+/">([^<]+)</a>', table))


def make_plan(title, slug, start, end, codes, *, organisation=None, priority_number=1):
    plan = PlanFactory(title=title, slug=slug, start_date=start, end_date=end)
    objective = ObjectiveFactory(priority=PriorityFactory(plan=plan, number=priority_number), code="1.1")
    actions = [ActionFactory(objective=objective, code=code, title=f"{title} action {code}") for code in codes]
    if organisation is not None:
        for action in actions:
            ActionPartnerFactory(action=action, organisation=organisation)
    return plan, actions


@pytest.fixture
def two_plans(db, org_a):
    """An old plan (2020-2023) and the current one (2024-2099), each with its own actions, both partnered by A."""
    old, old_actions = make_plan("Old plan", "old-plan", d(2020, 1, 1), d(2023, 12, 31), ["1.11", "1.12"])
    new, new_actions = make_plan("New plan", "new-plan", d(2024, 1, 1), d(2099, 12, 31), ["1.21", "1.22", "1.23"])
    ActionPartnerFactory(action=old_actions[0], organisation=org_a)
    ActionPartnerFactory(action=new_actions[0], organisation=org_a)
    return {"old": old, "new": new, "old_actions": old_actions, "new_actions": new_actions}


# --- which plan: ?plan=, then the remembered choice, then the default -----------------------------------


def test_without_a_choice_the_register_shows_the_current_plan(client, secretariat, two_plans):
    client.force_login(secretariat)
    assert codes_in(client.get(REGISTER)) == ["1.21", "1.22", "1.23"]
    assert not PlanChoice.objects.exists()


def test_a_plan_chosen_in_the_switcher_is_remembered_for_the_next_visit(client, secretariat, two_plans):
    """The switcher's choice (a POST) is remembered; a link's ?plan= only shows it (see test_plan_default.py)."""
    client.force_login(secretariat)
    assert codes_in(client.get(REGISTER, {"plan": "old-plan"})) == ["1.11", "1.12"]
    assert not PlanChoice.objects.exists()
    client.post(CHOOSE, {"plan": "old-plan", "next": REGISTER})
    assert PlanChoice.objects.get(user=secretariat).plan == two_plans["old"]
    # The next visit, with no ?plan=, and on the other pages: the remembered plan.
    assert codes_in(client.get(REGISTER)) == ["1.11", "1.12"]
    assert client.get(DASHBOARD).context["total"] == 2
    # A colleague opening the same link sees the same plan; their own default is untouched otherwise.
    colleague = SecretariatFactory()
    client.force_login(colleague)
    assert codes_in(client.get(REGISTER, {"plan": "old-plan"})) == ["1.11", "1.12"]
    assert not PlanChoice.objects.filter(user=colleague).exists()
    client.force_login(secretariat)
    assert codes_in(client.get(REGISTER, {"plan": "new-plan"})) == ["1.21", "1.22", "1.23"]
    assert PlanChoice.objects.get(user=secretariat).plan == two_plans["old"]


@pytest.mark.parametrize("value", ["no-such-plan", "x" * 300, "<script>alert(1)</script>", "1' OR '1'='1", "%00"])
def test_an_unknown_plan_falls_back_with_a_message_never_an_error(client, secretariat, two_plans, value):
    client.force_login(secretariat)
    for url in (REGISTER, DASHBOARD, REPORT, INDICATORS, CSV, XLSX, REPORT_XLSX):
        assert client.get(url, {"plan": value}).status_code == 200, url
    response = client.get(REGISTER, {"plan": value}, follow=True)
    assert codes_in(response) == ["1.21", "1.22", "1.23"]
    assert "for you to see: showing another plan" in response.content.decode()
    assert "<script>alert" not in response.content.decode()
    assert not PlanChoice.objects.exists()


def test_with_one_plan_nothing_changes(client, secretariat, db):
    plan, _ = make_plan("Only plan", "only-plan", d(2024, 1, 1), d(2099, 1, 1), ["1.11"])
    client.force_login(secretariat)
    for url in (REGISTER, DASHBOARD, REPORT, INDICATORS):
        html = client.get(url).content.decode()
        assert 'id="plan-switcher"' not in html, url
        assert "plan=only-plan" not in html, url


def test_the_switcher_lists_the_plans_and_the_links_carry_the_plan(client, secretariat, two_plans):
    client.force_login(secretariat)
    html = client.get(REGISTER, {"plan": "old-plan"}).content.decode()
    switcher = html.split('id="plan-switcher"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]+)"', switcher) == ["new-plan", "old-plan"]
    assert '<option value="old-plan" selected>Old plan (2020–2023)' in switcher
    # The filters and the downloads keep the plan.
    assert '<input type="hidden" name="plan" value="old-plan">' in html
    assert f"{CSV}?plan=old-plan" in html and f"{XLSX}?plan=old-plan" in html
    html = client.get(DASHBOARD, {"plan": "old-plan"}).content.decode()
    register_links = re.findall(r'href="(/actions/\?[^"]*)"', html)
    assert register_links and all("plan=old-plan" in link for link in register_links)
    assert f"{REPORT}?plan=old-plan" in html
    # The navigation's links to the pages that show one plan carry it too.
    navigation = html.split('id="navigation"')[1].split("</ul>")[0]
    assert f'href="{REGISTER}?plan=old-plan"' in navigation and f'href="{INDICATORS}?plan=old-plan"' in navigation
    html = client.get(REPORT, {"plan": "old-plan"}).content.decode()
    assert f"{REPORT_XLSX}?as_of=" in html and "&amp;plan=old-plan" in html
    assert '<input type="hidden" name="plan" value="old-plan">' in html


def test_pages_that_are_not_per_plan_have_no_switcher(client, secretariat, two_plans):
    client.force_login(secretariat)
    html = client.get(two_plans["old_actions"][0].get_absolute_url()).content.decode()
    assert 'id="plan-switcher"' not in html
    # Its breadcrumbs open the register on the action's own plan.
    assert f"{REGISTER}?plan=old-plan&amp;objective=" in html


def test_a_partner_chooses_only_among_plans_with_their_actions(client, partner_a, two_plans, org_b):
    other, _ = make_plan("Other plan", "other-plan", d(2024, 6, 1), d(2099, 1, 1), ["7.11"], organisation=org_b)
    client.force_login(partner_a)
    html = client.get(REGISTER).content.decode()
    switcher = html.split('id="plan-switcher"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]+)"', switcher) == ["new-plan", "old-plan"]
    client.post(CHOOSE, {"plan": "old-plan", "next": REGISTER})
    assert codes_in(client.get(REGISTER)) == ["1.11"]
    # Another organisation's plan is "no such plan" for them: the remembered one is shown instead.
    response = client.get(REGISTER, {"plan": other.slug})
    assert codes_in(response) == ["1.11"]
    assert PlanChoice.objects.get(user=partner_a).plan == two_plans["old"]
    lonely = PartnerFactory(organisation=OrganisationFactory())
    client.force_login(lonely)
    assert codes_in(client.get(REGISTER)) == []
    assert client.get(INDICATORS).status_code == 200


# --- each page shows one plan ---------------------------------------------------------------------------


def test_register_and_its_downloads_show_one_plan(client, secretariat, two_plans):
    client.force_login(secretariat)
    csv = client.get(CSV, {"plan": "old-plan"}).getvalue().decode("utf-8-sig")
    assert "1.11" in csv and "1.21" not in csv
    sheet = load_workbook(io.BytesIO(client.get(XLSX, {"plan": "new-plan"}).getvalue())).active
    assert sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True)) == ["1.21", "1.22", "1.23"]
    # The objective filter offers the plan's objectives only.
    form = client.get(REGISTER, {"plan": "old-plan"}).context["filter"].form
    assert list(form.fields["objective"].queryset) == [two_plans["old_actions"][0].objective]


def test_dashboard_shows_one_plan(client, commissioner, two_plans):
    client.force_login(commissioner)
    response = client.get(DASHBOARD, {"plan": "old-plan"})
    assert response.context["total"] == 2
    assert "Old plan" in response.content.decode()
    assert client.get(DASHBOARD, {"plan": "new-plan"}).context["total"] == 3


def test_progress_report_and_workbook_show_one_plan(client, commissioner, two_plans):
    indicator = SuccessIndicatorFactory(plan=two_plans["old"], statement="Old plan's indicator")
    SuccessIndicatorFactory(plan=two_plans["new"], statement="New plan's indicator")
    client.force_login(commissioner)
    response = client.get(REPORT, {"plan": "old-plan"})
    html = response.content.decode()
    assert [plan.title for plan in response.context["plans"]] == ["Old plan"]
    assert response.context["total"] == 2
    assert "Old plan action 1.11" in html and "New plan action" not in html
    workbook = load_workbook(io.BytesIO(client.get(REPORT_XLSX, {"plan": "old-plan"}).getvalue()))
    actions = list(workbook["Actions"].iter_rows(min_row=2, values_only=True))
    assert sorted(row[3] for row in actions) == ["1.11", "1.12"]
    summary = list(workbook["Summary"].iter_rows(min_row=2, values_only=True))
    assert sum(row[2] for row in summary) == 2
    indicators = list(workbook["Indicators"].iter_rows(min_row=2, values_only=True))
    assert all(row[0] == "Old plan" for row in indicators)
    assert indicator.plan.title == "Old plan"


def test_indicators_list_shows_one_plan(client, secretariat, two_plans):
    SuccessIndicatorFactory(plan=two_plans["old"], statement="Old plan's indicator")
    SuccessIndicatorFactory(plan=two_plans["new"], statement="New plan's indicator")
    client.force_login(secretariat)
    html = client.get(INDICATORS, {"plan": "old-plan"}).content.decode()
    assert "Old plan&#x27;s indicator" in html and "New plan&#x27;s indicator" not in html


def test_per_plan_pages_run_a_fixed_number_of_queries(client, secretariat, two_plans, django_assert_max_num_queries):
    client.force_login(secretariat)
    # The register's first render: the plans are one more query; reading a page writes nothing.
    with django_assert_max_num_queries(13):
        assert client.get(REGISTER, {"plan": "old-plan"}).status_code == 200
    for i in range(20):
        make_plan(f"Plan {i}", f"plan-{i}", d(2000 + i, 1, 1), d(2000 + i, 12, 31), [f"{i}.1", f"{i}.2"])
    with django_assert_max_num_queries(13):
        assert client.get(REGISTER, {"plan": "old-plan", "status": "not_started"}).status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(DASHBOARD, {"plan": "old-plan"}).status_code == 200
    with django_assert_max_num_queries(11):
        assert client.get(REPORT, {"plan": "old-plan"}).status_code == 200


# --- reminders name the plan when there is more than one -------------------------------------------------


def test_a_digest_names_each_actions_plan_when_they_span_plans(db, settings, org_a, two_plans):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    PartnerFactory(organisation=org_a, email="ann@example.org")
    today = d(2025, 6, 11)
    for action in (two_plans["old_actions"][0], two_plans["new_actions"][0]):
        Action.objects.filter(pk=action.pk).update(
            update_frequency=UpdateFrequency.MONTHLY, next_update_due=today + datetime.timedelta(days=3)
        )
    reminders_run_daily(today=today, send_now=True)
    digest = next(m for m in mail.outbox if m.to == ["ann@example.org"])
    assert "Plan: Old plan" in digest.body and "Plan: New plan" in digest.body
    assert "Plan: Old plan" in digest.alternatives[0][0]
    # Actions of a single plan: no plan named.
    mail.outbox.clear()
    Reminder.objects.all().delete()
    Action.objects.filter(pk=two_plans["old_actions"][0].pk).update(next_update_due=None)
    reminders_run_daily(today=today, send_now=True)
    digest = next(m for m in mail.outbox if m.to == ["ann@example.org"])
    assert "Plan:" not in digest.body


# --- starting the next plan ------------------------------------------------------------------------------


@pytest.fixture
def current(db, secretariat, org_a, org_b):
    """A plan with three actions under two objectives: two unfinished (with partners, owner, history), one done."""
    plan = PlanFactory(title="Plan 2024", slug="plan-2024", start_date=d(2024, 1, 1), end_date=d(2026, 12, 31))
    priority = PriorityFactory(plan=plan, number=5, title="International collaboration", aim="Work together.")
    first = ObjectiveFactory(priority=priority, code="5.1", title="Enhanced collaboration")
    second = ObjectiveFactory(priority=priority, code="5.2", title="Shared data")
    ongoing = ActionFactory(
        objective=first, code="5.11", title="Joint teams", owner=secretariat, update_frequency=UpdateFrequency.QUARTERLY
    )
    ActionPartnerFactory(action=ongoing, organisation=org_a, role=ActionPartner.Role.LEAD)
    ActionPartnerFactory(action=ongoing, organisation=org_b, role=ActionPartner.Role.SUPPORTING)
    action_record_update(action=ongoing, status=Status.AT_RISK, note="Funding is late.", by=secretariat)
    other = ActionFactory(objective=second, code="5.21", title="Data sharing", update_frequency=UpdateFrequency.MONTHLY)
    done = ActionFactory(objective=second, code="5.22", title="Finished work")
    action_record_update(action=done, status=Status.COMPLETED, note="All done.", by=secretariat)
    return {"plan": plan, "ongoing": ongoing, "other": other, "done": done}


def test_start_next_plan_copies_actions_with_their_structure_people_and_history_links(secretariat, current, org_a):
    ongoing, other = current["ongoing"], current["other"]
    new_plan, copies = plan_start_next(
        plan=current["plan"],
        title="Plan 2027",
        start_date=d(2027, 1, 1),
        end_date=d(2029, 12, 31),
        actions=Action.objects.filter(pk__in=[ongoing.pk, other.pk]),
        by=secretariat,
    )
    assert (new_plan.slug, new_plan.start_date, new_plan.end_date) == ("plan-2027", d(2027, 1, 1), d(2029, 12, 31))
    copy = Action.objects.get(objective__priority__plan=new_plan, code="5.11")
    assert copy.predecessor == ongoing and list(ongoing.successors.all()) == [copy]
    assert (copy.title, copy.description, copy.owner, copy.update_frequency) == (
        ongoing.title,
        ongoing.description,
        secretariat,
        UpdateFrequency.QUARTERLY,
    )
    assert copy.status == Status.NOT_STARTED and copy.next_update_due == d(2027, 4, 1)
    assert sorted((p.organisation.slug, p.role) for p in copy.partnerships.all()) == [
        ("org-a", "lead"),
        ("org-b", "supporting"),
    ]
    priority = new_plan.priorities.get()
    assert (priority.number, priority.title, priority.aim) == (5, "International collaboration", "Work together.")
    assert sorted(priority.objectives.values_list("code", "title")) == [
        ("5.1", "Enhanced collaboration"),
        ("5.2", "Shared data"),
    ]
    assert len(copies) == 2 and not Action.objects.filter(objective__priority__plan=new_plan, code="5.22").exists()
    forward = ActionChange.objects.get(action=ongoing, field="carried_forward_to")
    back = ActionChange.objects.get(action=copy, field="carried_forward_from")
    assert forward.new_value == "5.11 in Plan 2027" and back.new_value == "5.11 in Plan 2024"
    assert forward.changed_by == back.changed_by == secretariat
    # The old action itself is otherwise unchanged: its status and partners stay.
    ongoing.refresh_from_db()
    assert ongoing.status == Status.AT_RISK and ongoing.partnerships.count() == 2


def test_start_next_plan_refuses_bad_input_and_writes_nothing(secretariat, current):
    elsewhere = ActionFactory()
    before = (Plan.objects.count(), Action.objects.count(), ActionChange.objects.count())
    with pytest.raises(ValidationError) as error:
        plan_start_next(
            plan=current["plan"],
            title="Next",
            start_date=d(2027, 1, 1),
            end_date=d(2029, 1, 1),
            actions=[current["ongoing"], elsewhere],
            by=secretariat,
        )
    assert "actions" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        plan_start_next(
            plan=current["plan"],
            title=" ",
            start_date=d(2027, 1, 1),
            end_date=d(2026, 1, 1),
            actions=[current["ongoing"]],
            by=secretariat,
        )
    assert set(error.value.message_dict) == {"title", "end_date"}
    assert (Plan.objects.count(), Action.objects.count(), ActionChange.objects.count()) == before


def test_the_next_plan_page_preselects_unfinished_actions(client, secretariat, current):
    client.force_login(secretariat)
    url = reverse("priorities:plan-start-next", kwargs={"pk": current["plan"].pk})
    html = client.get(url).content.decode()
    checked = set(re.findall(r'<input type="checkbox" name="actions" value="(\d+)"[^>]*checked', html))
    assert checked == {str(current["ongoing"].pk), str(current["other"].pk)}
    assert "5.22 Finished work (completed)" in html
    assert 'value="2027-01-01"' in html  # the day after the plan ends
    assert url in client.get(reverse("priorities:plan")).content.decode()


def test_starting_the_next_plan_in_the_browser_form(client, secretariat, current):
    client.force_login(secretariat)
    url = reverse("priorities:plan-start-next", kwargs={"pk": current["plan"].pk})
    response = client.post(
        url,
        {"title": "Plan 2027", "start_date": "2027-01-01", "end_date": "2029-12-31", "actions": current["ongoing"].pk},
    )
    assert response.status_code == 302 and response["Location"] == f"{REGISTER}?plan=plan-2027"
    assert codes_in(client.get(response["Location"])) == ["5.11"]
    # Refused: end before start, an action of another plan; the form comes back and nothing is written.
    stranger = ActionFactory()
    plans = Plan.objects.count()
    response = client.post(
        url, {"title": "Again", "start_date": "2027-01-01", "end_date": "2026-01-01", "actions": [stranger.pk]}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The end date must be the same as or after the start date." in html
    assert "Select a valid choice." in html
    assert Plan.objects.count() == plans


def test_the_copys_page_reads_its_history_across_both_plans(
    client, secretariat, current, django_assert_max_num_queries
):
    new_plan, _ = plan_start_next(
        plan=current["plan"],
        title="Plan 2027",
        start_date=d(2027, 1, 1),
        end_date=d(2029, 12, 31),
        actions=[current["ongoing"]],
        by=secretariat,
    )
    copy = current["ongoing"].successors.get()
    action_record_update(action=copy, status=Status.ON_TRACK, note="Funding arrived.", by=secretariat)
    client.force_login(secretariat)
    with django_assert_max_num_queries(16):
        html = client.get(copy.get_absolute_url()).content.decode()
    own, before = html.split('id="predecessor-history"')
    assert "Funding arrived." in own and "Funding is late." not in own
    assert "Before Plan 2027: history in Plan 2024" in before
    assert "Funding is late." in before and "Carried forward to" in before
    assert f'href="{current["ongoing"].get_absolute_url()}"' in own
    old_page = client.get(current["ongoing"].get_absolute_url()).content.decode()
    assert 'id="successors"' in old_page and f'href="{copy.get_absolute_url()}"' in old_page
    assert "5.11 in Plan 2027" in old_page


def test_a_partner_sees_the_predecessors_history_only_while_partnering_it(client, secretariat, current, org_a):
    plan_start_next(
        plan=current["plan"],
        title="Plan 2027",
        start_date=d(2027, 1, 1),
        end_date=d(2029, 12, 31),
        actions=[current["ongoing"]],
        by=secretariat,
    )
    copy = current["ongoing"].successors.get()
    partner = PartnerFactory(organisation=org_a)
    client.force_login(partner)
    assert "Funding is late." in client.get(copy.get_absolute_url()).content.decode()
    ActionPartner.objects.filter(action=current["ongoing"], organisation=org_a).delete()
    html = client.get(copy.get_absolute_url()).content.decode()
    assert client.get(copy.get_absolute_url()).status_code == 200
    assert "Funding is late." not in html and 'id="predecessor-history"' not in html


def test_only_the_secretariat_starts_a_plan(client, commissioner, partner_a, current):
    url = reverse("priorities:plan-start-next", kwargs={"pk": current["plan"].pk})
    for user in (commissioner, partner_a):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"title": "X", "start_date": "2027-01-01", "end_date": "2028-01-01"}).status_code == 403
    assert Plan.objects.count() == 1


def test_plan_switch_resolves_once_per_request(rf: RequestFactory, secretariat, two_plans, django_assert_num_queries):
    from django.contrib.messages.storage.fallback import FallbackStorage

    from priorities.plan_choice import current_plan, plan_switch

    request = rf.get(REGISTER)
    request.user = secretariat
    request.session = {}
    request._messages = FallbackStorage(request)
    with django_assert_num_queries(1):
        assert current_plan(request) == two_plans["new"]
        assert current_plan(request) == two_plans["new"]
        assert plan_switch(request).show and plan_switch(request).query == "plan=new-plan"
