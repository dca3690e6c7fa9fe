"""The counts the services keep (issue 18): each partnership's last report, and actions per objective and status.

Every service that changes what they count keeps them right, the data migration fills them,
check_stored_counts proves them equal to the rows on generated data, and the dashboard reads them.
"""

import datetime
import importlib
from unittest import mock

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from priorities.models import Action, ActionPartner, ObjectiveStatusCount, Status
from priorities.services import (
    action_create,
    action_record_update,
    action_update_details,
    actions_delete,
    submission_accept,
    submission_create,
    submission_return,
)
from tests.factories import ActionPartnerFactory, ObjectiveFactory, OrganisationFactory, PartnerFactory

REGISTER = reverse("priorities:action-list")
DASHBOARD = reverse("overview:dashboard")


def stored(objective):
    return {s: n for (o, s), n in ObjectiveStatusCount.objects.stored().items() if o == objective.pk}


def agree():
    return ObjectiveStatusCount.objects.differences() == [] and ActionPartner.objects.reporting_differences() == []


def last_reported(action, organisation):
    return ActionPartner.objects.get(action=action, organisation=organisation).last_reported_at


def test_creating_actions_and_changing_status_keep_the_counts(secretariat):
    objective = ObjectiveFactory()
    first = action_create(objective=objective, code="1.1", title="One", description="d", by=secretariat)
    action_create(objective=objective, code="1.2", title="Two", description="d", by=secretariat)
    assert stored(objective) == {Status.NOT_STARTED: 2}
    action_record_update(action=first, status=Status.AT_RISK, note="Slipping", by=secretariat)
    assert stored(objective) == {Status.NOT_STARTED: 1, Status.AT_RISK: 1}
    action_record_update(action=first, status=Status.AT_RISK, note="Still", by=secretariat)  # no change of status
    action_record_update(action=first, status=Status.COMPLETED, note="Done", by=secretariat)
    assert stored(objective) == {Status.NOT_STARTED: 1, Status.COMPLETED: 1}
    assert agree()


def test_archiving_restoring_and_moving_an_action_keep_the_counts(secretariat):
    from priorities.services import action_archive, action_restore, action_update_details

    objective = ObjectiveFactory()
    other = ObjectiveFactory(priority=objective.priority, code="1.9")
    first = action_create(objective=objective, code="1.1", title="One", description="d", by=secretariat)
    action_create(objective=objective, code="1.2", title="Two", description="d", by=secretariat)
    action_archive(action=first, by=secretariat)
    assert stored(objective) == {Status.NOT_STARTED: 1}  # the dashboard counts live actions only
    assert agree()
    action_restore(action=first, by=secretariat)
    assert stored(objective) == {Status.NOT_STARTED: 2}
    action_update_details(action=first, by=secretariat, objective=other)
    assert stored(objective) == {Status.NOT_STARTED: 1}
    assert stored(other) == {Status.NOT_STARTED: 1}
    assert agree()


def test_a_refused_update_changes_no_count(secretariat):
    objective = ObjectiveFactory()
    action = action_create(objective=objective, code="1.1", title="One", description="d", by=secretariat)
    with pytest.raises(Exception):
        action_record_update(action=action, status=Status.OFF_TRACK, note="", by=secretariat)  # no reason given
    assert stored(objective) == {Status.NOT_STARTED: 1}


def test_deleting_actions_counts_again(secretariat):
    objective = ObjectiveFactory()
    for code in ("1.1", "1.2", "1.3"):
        action_create(objective=objective, code=code, title=code, description="d", by=secretariat)
    actions_delete(actions=Action.objects.filter(code__in=["1.1", "1.2"]))
    assert stored(objective) == {Status.NOT_STARTED: 1}
    assert agree()


def test_updates_reported_for_a_partner_keep_its_latest_report(secretariat, org_a):
    partnership = ActionPartnerFactory(organisation=org_a)
    action, now = partnership.action, timezone.now()
    action_record_update(action=action, status=Status.ON_TRACK, note="n", by=secretariat, organisation=org_a, at=now)
    assert last_reported(action, org_a) == now
    # Entered later but made earlier (a report by phone written up afterwards): the latest stays.
    older = now - datetime.timedelta(days=400)
    action_record_update(action=action, status=Status.ON_TRACK, note="n", by=secretariat, organisation=org_a, at=older)
    assert last_reported(action, org_a) == now
    # An update that is nobody's report changes nothing.
    action_record_update(action=action, status=Status.AT_RISK, note="n", by=secretariat)
    assert last_reported(action, org_a) == now
    assert agree()


def test_submitting_accepting_and_returning_keep_the_last_report(secretariat, org_a):
    partnership = ActionPartnerFactory(organisation=org_a)
    action, partner = partnership.action, PartnerFactory(organisation=org_a)
    assert last_reported(action, org_a) is None
    submission = submission_create(action=action, by=partner, status=Status.ON_TRACK, note="Training done")
    assert last_reported(action, org_a) == submission.submitted_at  # a report, before any decision
    update = submission_accept(submission=submission, by=secretariat)
    assert last_reported(action, org_a) == update.created_at >= submission.submitted_at
    second = submission_create(action=action, by=partner, status=Status.AT_RISK, note="Delayed")
    submission_return(submission=second, by=secretariat, reason="Say by how long")
    assert last_reported(action, org_a) == second.submitted_at  # returned, but reported all the same
    assert agree()


def test_a_partner_taken_off_and_put_back_keeps_its_reports(secretariat, org_a, org_b):
    partnership = ActionPartnerFactory(organisation=org_a)
    action = partnership.action
    update = action_record_update(action=action, status=Status.ON_TRACK, note="n", by=secretariat, organisation=org_a)
    action_update_details(action=action, by=secretariat, partners=[(org_b, ActionPartner.Role.LEAD)])
    action_update_details(
        action=action, by=secretariat, partners=[(org_a, ActionPartner.Role.LEAD), (org_b, ActionPartner.Role.LEAD)]
    )
    assert last_reported(action, org_a) == update.created_at
    assert last_reported(action, org_b) is None
    assert agree()


@pytest.fixture
def generated(db, settings, secretariat):
    settings.DEBUG = True
    call_command(
        "generate_load_data",
        "--actions=80",
        "--updates=1200",
        "--organisations=10",
        "--users=30",
        "--plans=2",
        "--seed=11",
        stdout=open("/dev/null", "w"),
    )


def test_generated_data_agrees_and_the_check_finds_a_difference(generated, secretariat):
    call_command("check_stored_counts", stdout=open("/dev/null", "w"))
    assert ObjectiveStatusCount.objects.stored() == ObjectiveStatusCount.objects.computed()
    # A write that bypasses the services is found, and --fix sets the counts from the rows.
    action = Action.objects.order_by("pk").first()
    Action.objects.filter(pk=action.pk).update(status=Status.OFF_TRACK if action.status != "off_track" else "on_track")
    reported = ActionPartner.objects.filter(last_reported_at__isnull=False).order_by("pk").first()
    ActionPartner.objects.filter(pk=reported.pk).update(last_reported_at=None)
    with pytest.raises(CommandError, match="1 partnership.* and 2 objective status count"):
        call_command("check_stored_counts", stdout=open("/dev/null", "w"))
    call_command("check_stored_counts", fix=True, stdout=open("/dev/null", "w"))
    assert agree()


def test_the_data_migration_fills_both(generated):
    migration = importlib.import_module("priorities.migrations.0015_stored_reporting_and_status_counts")
    expected = (
        ObjectiveStatusCount.objects.computed(),
        sorted(ActionPartner.objects.values_list("pk", "last_reported_at")),
    )
    ObjectiveStatusCount.objects.all().delete()
    ActionPartner.objects.update(last_reported_at=None)
    migration.fill(apps, None)
    assert ObjectiveStatusCount.objects.stored() == expected[0]
    assert sorted(ActionPartner.objects.values_list("pk", "last_reported_at")) == expected[1]
    assert any(at for _, at in expected[1])  # the generated data has reports to fill in
    assert agree()


def test_the_dashboard_shows_the_stored_counts(client, commissioner, generated):
    client.force_login(commissioner)
    response = client.get(DASHBOARD)
    overall = response.context["chart"]["bars"][0]["counts"]
    shown = Action.objects.filter(objective__priority__plan=response.context["plan"])  # the plan on screen
    for status in Status.values:
        assert overall.get(status, 0) == shown.filter(status=status).count()


# --- the register's filter form: cached until a choice list changes ------------------------------


def test_the_filter_form_is_rendered_again_only_when_its_choices_change(client, secretariat, org_a):
    from priorities.views import actions as views

    partnership = ActionPartnerFactory(organisation=org_a)
    client.force_login(secretariat)
    with mock.patch.object(views, "_register_filters_html", wraps=views._register_filters_html) as render:
        client.get(REGISTER)
        assert render.call_count == 1
        # Progress recorded: the table changes, the filter form's choices do not.
        action_record_update(action=partnership.action, status=Status.AT_RISK, note="Late", by=secretariat)
        assert "At risk" in client.get(REGISTER).content.decode()
        assert render.call_count == 1
        # A new partner organisation is a new choice.
        newcomer = OrganisationFactory(name="Newcomer agency")
        ActionPartnerFactory(organisation=newcomer)
        html = client.get(REGISTER).content.decode()
        assert render.call_count == 2
        assert "Newcomer agency" in html.split('id="action-filters"')[1].split("</form>")[0]


# --- the register's rows, written in plain Python ----------------------------------------------


def test_register_rows_are_what_django_tables2_would_render(rf, secretariat, org_a, org_b):
    """ActionTable.body_html gives the same cells as django-tables2's own loop (includes/table.html)."""
    import re

    from django.template.loader import render_to_string

    from priorities.tables import ActionTable

    first = ActionPartnerFactory(organisation=org_a, role=ActionPartner.Role.LEAD)
    ActionPartnerFactory(action=first.action, organisation=org_b)
    action_record_update(action=first.action, status=Status.AT_RISK, note="<b>late</b>", by=secretariat)
    action_update_details(action=first.action, by=secretariat, owner=secretariat, update_frequency=1)
    ActionPartnerFactory(action__title="Fish & <chips>")  # no owner, no update, no due date
    request = rf.get("/actions/")
    request.user = secretariat

    class LoopTable(ActionTable):
        def body_html(self):
            return ""  # the template's own loop over django-tables2's cells

    def body(table_class):
        table = table_class(Action.objects.for_register())
        table.request = request
        table.paginate(per_page=50, page=1)
        html = render_to_string("includes/table.html", {"table": table}, request)
        return re.sub(r"\s+", " ", html.split("<tbody")[1].split("</tbody>")[0])

    ours = body(ActionTable)
    assert ours == body(LoopTable)
    assert "Fish &amp; &lt;chips&gt;" in ours and ours.count("<tr") == 2


def test_partnerships_of_every_action_or_of_some(secretariat, partner_a, org_a, org_b):
    mine = ActionPartnerFactory(organisation=org_a)
    ActionPartnerFactory(action=mine.action, organisation=org_b)
    ActionPartnerFactory(organisation=org_b)
    every = ActionPartner.objects.of_actions(Action.objects.visible_to(secretariat))
    assert not every.query.has_filters() and every.count() == 3  # no semi-join for every action
    assert set(ActionPartner.objects.of_actions(Action.objects.visible_to(partner_a))) == set(
        ActionPartner.objects.filter(action=mine.action)
    )
    assert not ActionPartner.objects.of_actions(Action.objects.none()).exists()


def test_the_dashboard_afresh_runs_the_same_queries_at_any_size(client, commissioner):
    """Rendered afresh (no fragment), the dashboard's query count does not grow with actions or partnerships."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.overview.test_dashboard import make_plan
    from tracker.caching import data_changed

    client.force_login(commissioner)
    counts = []
    for size in (15, 300):
        make_plan(size)
        data_changed()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(DASHBOARD).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 16  # the budget of test_dashboard.py
