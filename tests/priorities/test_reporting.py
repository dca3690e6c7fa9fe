"""One rule for "has this organisation reported on this action", on every screen that says it."""

import datetime
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from priorities.models import Action, ActionPartner, Plan, Status
from priorities.services import action_record_update
from tracker.models import Organisation

REGISTER = reverse("priorities:action-list")
DASHBOARD = reverse("overview:dashboard")


def register_pks(client, organisation, reporting, plan=None):
    """The pks of every action the register lists for this partner and reporting state, all pages read."""
    pks, page = set(), 1
    while True:
        query = {"partner": organisation.pk, "reporting": reporting, "page": page}
        if plan is not None:
            query["plan"] = plan.slug
        html = client.get(REGISTER, query).content.decode()
        table = html.split('id="action-register"')[1].split("</table>")[0]
        pks |= {int(pk) for pk in re.findall(r'<a class="govuk-link" href="/actions/(\d+)/">', table)}
        if f"page={page + 1}" not in html:
            return pks
        page += 1


def organisation_page_states(client, organisation, plan=None):
    """{action pk: "current" | "late" | "never"} as the organisation page shows them (for `plan`, else the default)."""
    html = client.get(organisation.get_absolute_url(), {"plan": plan.slug} if plan else {}).content.decode()
    table = html.split('id="organisation-actions"')[1].split("</table>")[0]
    states = {}
    for row in table.split("<tr ")[2:]:
        if "data-reporting" not in row:
            continue  # "... is not a partner on any action of this plan"
        pk = int(re.search(r'href="/actions/(\d+)/"', row).group(1))
        cell = re.search(r'data-reporting="(\w*)">([^<]*)', row)
        shown = cell.group(2)
        state = "never" if shown == "Never" else ("late" if "not within the update cycle" in row else "current")
        assert cell.group(1) == state, row
        states[pk] = state
    return states


@pytest.fixture
def generated(db, settings, secretariat):
    settings.DEBUG = True
    call_command(
        "generate_load_data",
        "--actions=60",
        "--updates=900",
        "--organisations=12",
        "--users=30",
        "--plans=2",
        "--seed=7",
        stdout=open("/dev/null", "w"),
    )
    # Updates recorded as a partner's without a submission (as load_demo and the secretariat's own
    # entries of a partner's report make them): recent, and older than any cycle.
    now = timezone.now()
    partnerships = list(ActionPartner.objects.select_related("action", "organisation").order_by("pk"))
    for index, partnership in enumerate(partnerships[::7]):
        action = Action.objects.get(pk=partnership.action_id)
        action_record_update(
            action=action,
            status=Status.ON_TRACK,
            note="Reported by phone",
            by=secretariat,
            organisation=partnership.organisation,
            at=now - datetime.timedelta(days=5 if index % 2 else 400),
        )


def test_every_screen_agrees_on_who_reported(client, commissioner, generated):
    """The organisation page, the dashboard and the register each show one plan: the same plan, the same states."""
    client.force_login(commissioner)
    plans = list(Plan.objects.filter(priorities__objectives__actions__partnerships__isnull=False).distinct())
    assert len(plans) == 2
    seen = set()
    organisations = Organisation.objects.filter(partnerships__isnull=False).distinct()
    for plan in plans:
        pages = {
            organisation.pk: organisation_page_states(client, organisation, plan) for organisation in organisations
        }
        in_plan = set(Action.objects.filter(objective__priority__plan=plan).values_list("pk", flat=True))
        response = client.get(DASHBOARD, {"plan": plan.slug})
        dashboard = {row["organisation_id"]: row for row in response.context["engagement"]}
        partnering = organisations.filter(partnerships__action__in=in_plan).distinct()
        assert partnering.count() == len(dashboard) > 5
        for organisation in partnering:
            page = pages[organisation.pk]
            assert set(page) <= in_plan
            row = dashboard[organisation.pk]
            by_state = {state: {pk for pk, s in page.items() if s == state} for state in ("current", "late", "never")}
            seen |= {state for state, pks in by_state.items() if pks}
            assert row["partnered"] == len(page)
            assert row["never"] == len(by_state["never"]), organisation
            assert row["current"] == len(by_state["current"]), organisation
            assert row["ever"] == len(by_state["current"]) + len(by_state["late"])
            for state, pks in by_state.items():
                assert register_pks(client, organisation, state, plan) == pks, (organisation, state)
    assert seen == {"current", "late", "never"}


def test_an_update_recorded_as_the_partners_counts_on_the_organisation_page(client, secretariat, plan5):
    """The demo's case: 5.24's last update is Europol's, made without a submission."""
    action = Action.objects.get(code="5.24")
    europol = Organisation.objects.get(slug="europol")
    action_record_update(action=action, status=Status.ON_TRACK, note="n", by=secretariat, organisation=europol)
    client.force_login(secretariat)
    assert organisation_page_states(client, europol)[action.pk] == "current"
    assert action.pk not in register_pks(client, europol, "never")
    assert action.pk in register_pks(client, europol, "current")
