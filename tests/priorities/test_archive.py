"""Archiving and deleting the plan's items (issue 16): services, pages, and what archived items leave."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from indicators.models import IndicatorChange, SuccessIndicator
from indicators.services import (
    indicator_archive,
    indicator_delete,
    indicator_references,
    indicator_restore,
    indicator_set_actions,
    measurement_submission_create,
)
from messaging.models import Reminder
from messaging.reminders import reminders_owed, reminders_send_batch, reminders_send_for_action
from priorities.models import Action, ActionChange, ArchiveDecision, Objective, Priority, Status, UpdateFrequency
from priorities.services import (
    action_archive,
    action_create,
    action_record_update,
    action_restore,
    objective_archive,
    objective_restore,
    plan_item_delete,
    plan_item_references,
    plan_publish,
    priority_archive,
    priority_restore,
    submission_create,
)
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    MeasureFactory,
    MeasurementFactory,
    ObjectiveFactory,
    PartnerFactory,
    SuccessIndicatorFactory,
)

REGISTER = reverse("priorities:action-list")


def archive_url(item):
    name = {Action: "action", Objective: "objective", Priority: "priority"}[type(item)]
    return reverse(f"priorities:{name}-archive", kwargs={"pk": item.pk})


@pytest.fixture
def plan(db, secretariat, org_a):
    """Objective 9.1 with a used action (an update, a partner) and a fresh one; objective 9.2 with one action."""
    first = ObjectiveFactory(code="9.1", title="First objective")
    used = action_create(objective=first, code="9.11", title="Used action", description="d", by=secretariat)
    ActionPartnerFactory(action=used, organisation=org_a)
    action_record_update(action=used, status=Status.ON_TRACK, note="Going well", by=secretariat)
    fresh = action_create(objective=first, code="9.12", title="Fresh action", description="d", by=secretariat)
    ActionPartnerFactory(action=fresh, organisation=org_a)
    second = ObjectiveFactory(code="9.2", title="Second objective", priority=first.priority)
    other = ActionFactory(objective=second, code="9.21", title="Other action")
    return {"first": first, "second": second, "used": used, "fresh": fresh, "other": other}


def live_codes():
    return sorted(Action.objects.live().values_list("code", flat=True))


# --- services ---------------------------------------------------------------------------------------


def test_archiving_an_action_records_who_and_when_in_its_history(plan, secretariat):
    used = plan["used"]
    version = used.version
    change = action_archive(action=used, by=secretariat)
    used.refresh_from_db()
    assert used.archived_at is not None and used.archived_by == secretariat
    assert used.version == version + 1
    assert (change.field, change.old_value, change.new_value, change.changed_by) == (
        "archived",
        "Live",
        "Archived",
        secretariat,
    )
    assert "9.11" not in live_codes()
    # Twice is once; restoring brings it back, also in the history.
    assert action_archive(action=used, by=secretariat) is None
    restored = action_restore(action=used, by=secretariat)
    used.refresh_from_db()
    assert used.archived_at is None and used.archived_by is None
    assert (restored.old_value, restored.new_value) == ("Archived", "Live")
    assert action_restore(action=used, by=secretariat) is None
    assert "9.11" in live_codes()


def test_only_the_secretariat_archives_restores_or_deletes(plan, partner_a, commissioner):
    for person in (partner_a, commissioner):
        with pytest.raises(PermissionDenied):
            action_archive(action=plan["used"], by=person)
        with pytest.raises(PermissionDenied):
            objective_archive(objective=plan["first"], by=person)
        with pytest.raises(PermissionDenied):
            plan_item_delete(item=plan["fresh"], by=person)
    assert Action.objects.archived().count() == 0
    assert Action.objects.filter(pk=plan["fresh"].pk).exists()


def test_archiving_waits_for_progress_awaiting_review(plan, secretariat, partner_a):
    submission_create(action=plan["used"], by=partner_a, status=Status.AT_RISK, note="Slipping")
    with pytest.raises(ValidationError, match="9.11 awaits review"):
        action_archive(action=plan["used"], by=secretariat)
    with pytest.raises(ValidationError, match="9.11 awaits review"):
        objective_archive(objective=plan["first"], by=secretariat)
    assert live_codes() == ["9.11", "9.12", "9.21"]
    assert not ArchiveDecision.objects.exists()


def test_an_archived_objective_hides_its_actions_without_copying_the_flag(plan, secretariat):
    action_archive(action=plan["fresh"], by=secretariat)
    decision = objective_archive(objective=plan["first"], by=secretariat)
    assert decision.archived and decision.objective == plan["first"] and decision.decided_by == secretariat
    assert live_codes() == ["9.21"]
    assert list(Objective.objects.live()) == [plan["second"]]
    # Computed, not copied: the used action's own flag is untouched.
    assert Action.objects.get(pk=plan["used"].pk).archived_at is None
    # The actions it hid say so in their history; the one archived already gets no second row.
    hidden = ActionChange.objects.filter(field="archived", new_value="Archived with objective 9.1")
    assert [c.action.code for c in hidden] == ["9.11"]

    objective_restore(objective=plan["first"], by=secretariat)
    # The action archived on its own stays archived.
    assert live_codes() == ["9.11", "9.21"]
    shown = ActionChange.objects.filter(field="archived", old_value="Archived with objective 9.1", new_value="Live")
    assert [c.action.code for c in shown] == ["9.11"]
    assert [d.archived for d in ArchiveDecision.objects.order_by("pk")] == [True, False]


def test_an_archived_priority_hides_its_objectives_and_actions(plan, secretariat):
    priority = plan["first"].priority
    priority_archive(priority=priority, by=secretariat)
    assert live_codes() == []
    assert not Objective.objects.live().exists()
    assert not Priority.objects.live().filter(pk=priority.pk).exists()
    assert ActionChange.objects.filter(new_value=f"Archived with priority {priority.number}").count() == 3
    priority_restore(priority=priority, by=secretariat)
    assert live_codes() == ["9.11", "9.12", "9.21"]


def test_live_on_a_date_counts_the_day_of_archiving_as_archived(plan, secretariat):
    action_archive(action=plan["used"], by=secretariat)
    moment = timezone.make_aware(datetime.datetime(2025, 3, 10, 9, 30))
    Action.objects.filter(pk=plan["used"].pk).update(archived_at=moment)
    assert Action.objects.live_on(datetime.date(2025, 3, 9)).filter(pk=plan["used"].pk).exists()
    assert not Action.objects.live_on(datetime.date(2025, 3, 10)).filter(pk=plan["used"].pk).exists()
    Action.objects.filter(pk=plan["used"].pk).update(archived_at=None)
    Objective.objects.filter(pk=plan["first"].pk).update(archived_at=moment)
    assert sorted(Action.objects.live_on(datetime.date(2025, 3, 9)).values_list("code", flat=True)) == [
        "9.11",
        "9.12",
        "9.21",
    ]
    assert sorted(Action.objects.live_on(datetime.date(2025, 3, 10)).values_list("code", flat=True)) == ["9.21"]


def test_delete_only_what_nothing_refers_to(plan, secretariat):
    # Its partners and the record of its creation are part of it, not references.
    assert plan_item_references(item=plan["fresh"]) == []
    assert plan_item_references(item=plan["used"]) == ["1 progress update", "1 change in its history"]
    assert plan_item_references(item=plan["first"]) == ["2 actions"]
    with pytest.raises(ValidationError, match="cannot be deleted: it has 1 progress update"):
        plan_item_delete(item=plan["used"], by=secretariat)
    with pytest.raises(ValidationError, match="2 actions"):
        plan_item_delete(item=plan["first"], by=secretariat)
    assert Action.objects.filter(pk=plan["used"].pk).exists()
    plan_item_delete(item=plan["fresh"], by=secretariat)
    assert not Action.objects.filter(pk=plan["fresh"].pk).exists()
    empty = ObjectiveFactory(priority=plan["first"].priority)
    plan_item_delete(item=empty, by=secretariat)
    assert not Objective.objects.filter(pk=empty.pk).exists()


def test_an_archive_decision_is_history_too(plan, secretariat):
    empty = ObjectiveFactory(priority=plan["first"].priority, code="9.3")
    objective_archive(objective=empty, by=secretariat)
    objective_restore(objective=empty, by=secretariat)
    assert plan_item_references(item=empty) == ["2 archive decisions in its history"]


def test_an_archived_action_takes_no_progress(plan, secretariat, partner_a):
    action_archive(action=plan["used"], by=secretariat)
    with pytest.raises(ValidationError, match="archived"):
        action_record_update(action=plan["used"], status=Status.AT_RISK, note="x", by=secretariat)
    with pytest.raises(ValidationError, match="archived"):
        submission_create(action=plan["used"], by=partner_a, status=Status.AT_RISK, note="x")
    action_restore(action=plan["used"], by=secretariat)
    objective_archive(objective=plan["first"], by=secretariat)
    with pytest.raises(ValidationError, match="archived"):
        action_record_update(action=plan["used"], status=Status.AT_RISK, note="x", by=secretariat)


# --- reminders ----------------------------------------------------------------------------------


@pytest.fixture
def due(plan, org_a):
    """Every action of the plan due yesterday, monthly, with a partner user at A."""
    PartnerFactory(organisation=org_a, email="ann@example.org")
    Action.objects.update(update_frequency=UpdateFrequency.MONTHLY, next_update_due=timezone.localdate())
    ActionPartnerFactory(action=plan["other"], organisation=org_a)
    return plan


def owed_codes(today):
    return sorted({Action.objects.get(pk=o.action_id).code for o in reminders_owed(today=today)})


def test_no_reminders_are_owed_for_archived_actions(due, secretariat, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    today = timezone.localdate()
    assert owed_codes(today) == ["9.11", "9.12", "9.21"]
    action_archive(action=due["used"], by=secretariat)
    objective_archive(objective=due["second"], by=secretariat)
    assert owed_codes(today) == ["9.12"]
    # Nor does "send a reminder now" write one.
    assert reminders_send_for_action(action=due["used"], by=secretariat, today=today) == []
    assert not Reminder.objects.filter(action=due["used"]).exists()


def test_pending_reminders_about_archived_actions_are_not_sent(due, secretariat, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    today = timezone.localdate()
    reminders_send_for_action(action=due["used"], by=secretariat, today=today)
    reminders_send_for_action(action=due["other"], by=secretariat, today=today)
    rows = list(Reminder.objects.pending().values_list("pk", flat=True))
    assert len(rows) == 2
    # Archiving marks the action's pending rows at once ...
    action_archive(action=due["used"], by=secretariat)
    assert Reminder.objects.get(action=due["used"]).state == Reminder.State.ARCHIVED
    # ... and a row whose objective was archived behind its back is not sent either.
    Objective.objects.filter(pk=due["second"].pk).update(archived_at=timezone.now())
    reminders_send_batch(reminder_ids=rows, claim_token="t")
    assert mail.outbox == []
    assert set(Reminder.objects.values_list("state", flat=True)) == {Reminder.State.ARCHIVED}
    assert Reminder.State.ARCHIVED.label == "Not sent: action archived"


# --- pages --------------------------------------------------------------------------------------


def test_the_confirm_page_says_archive_and_why_for_a_used_action(client, plan, secretariat):
    client.force_login(secretariat)
    page = client.get(archive_url(plan["used"])).content.decode()
    assert "This will archive action 9.11, not delete it" in page
    assert "1 progress update, 1 change in its history" in page
    response = client.post(archive_url(plan["used"]), {"decision": "archive"})
    assert response.status_code == 302
    assert Action.objects.get(pk=plan["used"].pk).archived_by == secretariat
    page = client.get(response["Location"]).content.decode()
    assert "Archived on" in page and "Restore" in page


def test_the_confirm_page_offers_delete_for_an_unused_action(client, plan, secretariat):
    client.force_login(secretariat)
    page = client.get(archive_url(plan["fresh"])).content.decode()
    assert "This will delete action 9.12" in page and "Nothing refers to it" in page
    response = client.post(archive_url(plan["fresh"]), {"decision": "delete"})
    assert response.status_code == 302 and response["Location"] == reverse("priorities:plan")
    assert not Action.objects.filter(pk=plan["fresh"].pk).exists()


def test_a_decision_made_stale_by_new_history_is_offered_again(client, plan, secretariat):
    client.force_login(secretariat)
    # The page offered "delete"; an update arrived since: nothing is deleted, archiving is offered.
    action_record_update(action=plan["fresh"], status=Status.ON_TRACK, note="Started", by=secretariat)
    response = client.post(archive_url(plan["fresh"]), {"decision": "delete"})
    assert response.status_code == 409
    assert "changed since you opened the page" in response.content.decode()
    assert "This will archive action 9.12" in response.content.decode()
    assert Action.objects.filter(pk=plan["fresh"].pk, archived_at__isnull=True).exists()
    for bad in ({}, {"decision": "burn"}):
        assert client.post(archive_url(plan["fresh"]), bad).status_code == 400
    assert Action.objects.filter(pk=plan["fresh"].pk, archived_at__isnull=True).exists()


def test_a_refused_archive_says_why_and_changes_nothing(client, plan, secretariat, partner_a):
    submission_create(action=plan["used"], by=partner_a, status=Status.AT_RISK, note="Slipping")
    client.force_login(secretariat)
    response = client.post(archive_url(plan["first"]), {"decision": "archive"})
    assert response.status_code == 409
    assert "awaits review" in response.content.decode()
    assert not Objective.objects.filter(archived_at__isnull=False).exists()


def test_objective_and_priority_pages_archive_and_restore(client, plan, secretariat):
    client.force_login(secretariat)
    page = client.get(archive_url(plan["first"])).content.decode()
    assert "with the 2 live actions under it" in page
    client.post(archive_url(plan["first"]), {"decision": "archive"})
    assert live_codes() == ["9.21"]
    page = client.get(archive_url(plan["first"])).content.decode()
    assert "Archived on" in page and 'id="archive-history"' in page
    listing = client.get(reverse("priorities:archived-items")).content.decode()
    assert "First objective" in listing
    client.post(reverse("priorities:objective-restore", kwargs={"pk": plan["first"].pk}))
    assert live_codes() == ["9.11", "9.12", "9.21"]
    priority = plan["first"].priority
    client.post(archive_url(priority), {"decision": "archive"})
    assert live_codes() == []
    client.post(reverse("priorities:priority-restore", kwargs={"pk": priority.pk}))
    assert live_codes() == ["9.11", "9.12", "9.21"]


def test_an_archived_actions_pages_stay_readable_with_a_banner(client, plan, secretariat, commissioner, partner_a):
    action_archive(action=plan["used"], by=secretariat)
    url = plan["used"].get_absolute_url()
    client.force_login(secretariat)
    page = client.get(url).content.decode()
    day = timezone.localdate().strftime("%-d %B %Y")
    assert f"Archived on {day} by {secretariat}" in page
    assert reverse("priorities:action-restore", kwargs={"pk": plan["used"].pk}) in page
    assert "Going well" in page  # its progress history
    assert 'id="record-update"' not in page
    assert "Send a reminder to the partners now" not in page
    for person in (commissioner, partner_a):
        client.force_login(person)
        page = client.get(url).content.decode()
        assert "Archived on" in page and "Going well" in page
        assert reverse("priorities:action-restore", kwargs={"pk": plan["used"].pk}) not in page
        assert 'id="record-update"' not in page
    # Hidden by its objective: the banner names it and points the secretariat there.
    action_restore(action=plan["used"], by=secretariat)
    objective_archive(objective=plan["first"], by=secretariat)
    client.force_login(secretariat)
    page = client.get(url).content.decode()
    assert "Archived with objective 9.1" in page
    assert archive_url(plan["first"]) in page


def test_restore_buttons_are_for_the_secretariat(client, plan, secretariat, partner_a, commissioner):
    action_archive(action=plan["used"], by=secretariat)
    url = reverse("priorities:action-restore", kwargs={"pk": plan["used"].pk})
    for person, status in ((partner_a, 403), (commissioner, 403)):
        client.force_login(person)
        assert client.post(url).status_code == status
    assert Action.objects.get(pk=plan["used"].pk).is_archived
    client.force_login(secretariat)
    assert client.post(url).status_code == 302
    assert not Action.objects.get(pk=plan["used"].pk).is_archived


def test_a_partner_cannot_report_on_an_archived_action(client, plan, secretariat, partner_a):
    action_archive(action=plan["used"], by=secretariat)
    client.force_login(partner_a)
    response = client.post(
        reverse("priorities:submission-create", kwargs={"pk": plan["used"].pk}),
        {"status": Status.AT_RISK, "note": "x", "evidence_url": ""},
    )
    assert response.status_code == 400
    assert not plan["used"].submissions.exists()


def test_the_reminder_button_refuses_an_archived_action(client, plan, secretariat):
    action_archive(action=plan["used"], by=secretariat)
    client.force_login(secretariat)
    response = client.post(reverse("messaging:action-send-reminder", kwargs={"pk": plan["used"].pk}), follow=True)
    assert "the action is archived" in response.content.decode()


# --- what archived items leave ------------------------------------------------------------------


def register_codes(client, **query):
    from tests.priorities.test_register import codes_in

    return sorted(codes_in(client.get(REGISTER, query)))


def test_archived_items_leave_the_register_its_filters_and_exports(client, plan, secretariat):
    action_archive(action=plan["used"], by=secretariat)
    client.force_login(secretariat)
    assert register_codes(client) == ["9.12", "9.21"]
    objective_archive(objective=plan["second"], by=secretariat)
    assert register_codes(client) == ["9.12"]
    filters = client.get(REGISTER).content.decode().split('id="action-register"')[0]
    assert "First objective" in filters and "Second objective" not in filters
    csv = client.get(reverse("priorities:action-export-csv")).getvalue().decode("utf-8-sig")
    assert "9.12" in csv and "9.11" not in csv and "9.21" not in csv


def test_archived_items_leave_the_dashboard_the_plan_page_and_partner_homes(
    client, plan, secretariat, commissioner, partner_a
):
    action_archive(action=plan["used"], by=secretariat)
    client.force_login(commissioner)
    dashboard = client.get(reverse("overview:dashboard")).content.decode()
    assert "9.11" not in dashboard
    plan_page = client.get(reverse("priorities:plan")).content.decode()
    assert "Used action" not in plan_page and "Fresh action" in plan_page
    client.force_login(partner_a)
    home = client.get("/").content.decode()
    assert "Fresh action" in home and "Used action" not in home


def whole_report(client, url, as_of):
    """The report's page as of a date with every objective's section opened (the page shows one at a time)."""
    response = client.get(url, {"as_of": as_of})
    html = response.content.decode()
    for plan in response.context["plans"]:
        for priority in plan.priorities.all():
            for objective in priority.objectives.all():
                html += client.get(url, {"as_of": as_of, "objective": objective.pk}).content.decode()
    return html


def test_the_progress_report_shows_what_was_live_on_its_date(client, plan, secretariat, commissioner):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    action_archive(action=plan["used"], by=secretariat)
    objective_archive(objective=plan["second"], by=secretariat)
    report = reverse("overview:progress-report")
    client.force_login(commissioner)
    # Archived today: live yesterday, so the report as of yesterday shows them; as of today it does not.
    then = whole_report(client, report, yesterday.isoformat())
    assert "Used action" in then and "Second objective" in then and "Other action" in then
    now = whole_report(client, report, timezone.localdate().isoformat())
    assert "Used action" not in now and "Second objective" not in now and "Fresh action" in now
    # Archived on a day before the date: not shown.
    past = timezone.make_aware(datetime.datetime.combine(yesterday - datetime.timedelta(days=1), datetime.time(12)))
    Action.objects.filter(pk=plan["used"].pk).update(archived_at=past)
    then = whole_report(client, report, yesterday.isoformat())
    assert "Used action" not in then and "Other action" in then


def test_the_report_workbook_follows_the_same_dates(client, plan, secretariat, commissioner):
    from openpyxl import load_workbook

    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    action_archive(action=plan["used"], by=secretariat)
    client.force_login(commissioner)

    def codes(as_of):
        response = client.get(reverse("overview:progress-report-xlsx"), {"as_of": as_of.isoformat()})
        sheet = load_workbook(__import__("io").BytesIO(b"".join(response.streaming_content)))["Actions"]
        return sorted(row[3] for row in sheet.iter_rows(min_row=2, values_only=True))

    assert codes(yesterday) == ["9.11", "9.12", "9.21"]
    assert codes(timezone.localdate()) == ["9.12", "9.21"]


def test_archived_items_leave_the_public_pages(client, plan, secretariat):
    plan_publish(plan=plan["first"].priority.plan, by=secretariat)
    public_action = reverse("public:action", kwargs={"pk": plan["used"].pk})
    assert client.get(public_action).status_code == 200
    action_archive(action=plan["used"], by=secretariat)
    assert client.get(public_action).status_code == 404
    objective_archive(objective=plan["second"], by=secretariat)
    assert client.get(reverse("public:objective", kwargs={"pk": plan["second"].pk})).status_code == 404
    overview = client.get(reverse("public:plan")).content.decode()
    assert "First objective" in overview and "Second objective" not in overview
    document = client.get(reverse("public:plan-json")).json()
    codes = [
        action["code"]
        for priority in document["plans"][0]["priorities"]
        for objective in priority["objectives"]
        for action in objective["actions"]
    ]
    assert codes == ["9.12"]


def test_register_query_count_is_fixed_with_archived_items(client, secretariat, django_assert_max_num_queries, plan):
    from tests.priorities.test_register import make_actions

    make_actions(30, partners=2)
    action_archive(action=plan["used"], by=secretariat)
    priority_archive(priority=plan["second"].priority, by=secretariat)
    client.force_login(secretariat)
    # The same budget as tests/priorities/test_register.py: the live() filter adds joins, not queries.
    with django_assert_max_num_queries(12):
        response = client.get(REGISTER, {"sort": "partners"})
    assert response.status_code == 200


# --- indicators ---------------------------------------------------------------------------------


@pytest.fixture
def indicators(plan, org_a):
    plan_ = plan["first"].priority.plan
    used = SuccessIndicatorFactory(plan=plan_, code="SI1", statement="People are safer")
    MeasurementFactory(measure__indicator=used, measure__reporting_organisation=org_a)
    unused = SuccessIndicatorFactory(plan=plan_, code="SI2", statement="Nothing measured yet")
    MeasureFactory(indicator=unused)
    return {"used": used, "unused": unused}


def test_archiving_an_indicator_is_logged_and_hides_it(client, indicators, secretariat, commissioner, partner_a):
    used = indicators["used"]
    assert indicator_references(indicator=used) == ["1 measurement"]
    change = indicator_archive(indicator=used, by=secretariat)
    assert (change.field, change.new_value, change.changed_by) == ("archived", "Archived", secretariat)
    assert indicator_archive(indicator=used, by=secretariat) is None
    assert list(SuccessIndicator.objects.live()) == [indicators["unused"]]
    client.force_login(commissioner)
    assert "People are safer" not in client.get(reverse("indicators:indicator-list")).content.decode()
    page = client.get(used.get_absolute_url()).content.decode()
    assert "Archived on" in page and "People are safer" in page
    with pytest.raises(ValidationError, match="archived"):
        measurement_submission_create(
            measure=used.measures.get(),
            by=partner_a,
            period_start=datetime.date(2030, 1, 1),
            period_end=datetime.date(2030, 12, 31),
            value=1,
        )
    indicator_restore(indicator=used, by=secretariat)
    assert IndicatorChange.objects.filter(indicator=used, field="archived").count() == 2
    assert SuccessIndicator.objects.live().filter(pk=used.pk).exists()


def test_an_indicator_nothing_refers_to_is_deleted(client, indicators, plan, secretariat):
    unused = indicators["unused"]
    assert indicator_references(indicator=unused) == []
    indicator_set_actions(indicator=unused, actions=[plan["used"]], by=secretariat)
    assert indicator_references(indicator=unused) == ["1 linked action", "1 change in its history"]
    with pytest.raises(ValidationError, match="cannot be deleted"):
        indicator_delete(indicator=unused, by=secretariat)
    fresh = SuccessIndicatorFactory(plan=unused.plan, code="SI3")
    client.force_login(secretariat)
    url = reverse("indicators:indicator-archive", kwargs={"pk": fresh.pk})
    assert "This will delete indicator SI3" in client.get(url).content.decode()
    assert client.post(url, {"decision": "delete"}).status_code == 302
    assert not SuccessIndicator.objects.filter(pk=fresh.pk).exists()


def test_an_indicator_with_values_awaiting_review_is_not_archived(indicators, secretariat, partner_a):
    measurement_submission_create(
        measure=indicators["used"].measures.get(),
        by=partner_a,
        period_start=datetime.date(2030, 1, 1),
        period_end=datetime.date(2030, 12, 31),
        value=1,
    )
    with pytest.raises(ValidationError, match="awaits review"):
        indicator_archive(indicator=indicators["used"], by=secretariat)


def test_archived_indicators_leave_the_register_filter_and_the_dashboard(client, indicators, secretariat, commissioner):
    indicator_archive(indicator=indicators["used"], by=secretariat)
    client.force_login(commissioner)
    filters = client.get(REGISTER).content.decode().split('id="action-register"')[0]
    assert "SI2" in filters or "Nothing measured yet" in filters
    assert "People are safer" not in filters
    assert "People are safer" not in client.get(reverse("overview:dashboard")).content.decode()


def test_dashboard_and_report_query_counts_are_fixed_with_archived_items(
    client, commissioner, secretariat, django_assert_max_num_queries, plan, indicators
):
    from tests.overview.test_dashboard import make_plan

    make_plan(30)
    action_archive(action=plan["used"], by=secretariat)
    objective_archive(objective=plan["second"], by=secretariat)
    indicator_archive(indicator=indicators["used"], by=secretariat)
    client.force_login(commissioner)
    # The budgets of tests/overview/test_dashboard.py: the live() filters add joins, not queries.
    with django_assert_max_num_queries(16):
        assert client.get(reverse("overview:dashboard")).status_code == 200
    # The report: one more, the actions it lists (tests/overview/test_progress_report.py), and its row
    # in the access log.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("overview:progress-report"))
    assert response.status_code == 200
    assert "Used action" not in response.content.decode()


def test_the_organisation_page_counts_what_the_dashboard_counts(client, plan, secretariat, org_a):
    action_archive(action=plan["used"], by=secretariat)
    client.force_login(secretariat)
    page = client.get(reverse("organisation-detail", kwargs={"slug": org_a.slug})).content.decode()
    assert "Fresh action" in page and "Used action" not in page


def test_a_report_link_to_an_archived_action_no_longer_works(client, plan, secretariat, partner_a):
    from messaging.report_links import link_token
    from tests.factories import report_link_for

    link = report_link_for(action=plan["used"], user=partner_a)
    url = reverse("messaging:report-link", kwargs={"token": link_token(link)})
    assert client.get(url).status_code == 200
    objective_archive(objective=plan["first"], by=secretariat)
    response = client.get(url)
    assert response.status_code == 410
    assert "the action has been archived" in response.content.decode()
    response = client.post(url, {"status": Status.ON_TRACK, "note": "x"})
    assert response.status_code == 410
    assert not plan["used"].submissions.exists()
