"""The organisation page and the organisations list show one plan at a time (issue 22, item 4).

With a next plan started, the page said "16 actions" and listed 5.21 twice with no plan, while its own
"see them in the register" link and its CSV gave 4. Each count on these pages must equal what its
link leads to: the tests follow every link and count again there.
"""

import csv
import datetime
import io
import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import Reminder
from priorities.services import action_archive, plan_start_next
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PlanFactory,
    PriorityFactory,
)

LIST = reverse("organisation-list")
DASHBOARD = reverse("overview:dashboard")


def years(n):
    return timezone.localdate() + datetime.timedelta(days=round(365.25 * n))


@pytest.fixture
def europol(db, secretariat):
    """Europol partners 5.11, 5.21-5.24 of the current plan (and 5.25, archived); the next plan carries 5.21, 5.22."""
    organisation = OrganisationFactory(name="Europol", slug="europol")
    plan = PlanFactory(title="Current plan", slug="current-plan", start_date=years(-1), end_date=years(1))
    priority = PriorityFactory(plan=plan, number=5)
    first, second = ObjectiveFactory(priority=priority, code="5.1"), ObjectiveFactory(priority=priority, code="5.2")
    actions = {"5.11": ActionFactory(objective=first, code="5.11")}
    for code in ("5.21", "5.22", "5.23", "5.24", "5.25", "5.26"):
        actions[code] = ActionFactory(objective=second, code=code, title=f"Action {code}")
    for code in ("5.11", "5.21", "5.22", "5.23", "5.24", "5.25"):
        ActionPartnerFactory(action=actions[code], organisation=organisation)
    ActionPartnerFactory(action=actions["5.26"], organisation=OrganisationFactory())
    action_archive(action=actions["5.25"], by=secretariat)
    following, copies = plan_start_next(
        plan=plan,
        title="Next plan",
        start_date=years(2),
        end_date=years(5),
        actions=[actions["5.21"], actions["5.22"]],
        by=secretariat,
    )
    for action in (actions["5.21"], copies[0]):
        Reminder.objects.create(
            recipient_email="contact@europol.example",
            organisation=organisation,
            action=action,
            kind=Reminder.Kind.MANUAL,
            cycle=timezone.localdate(),
        )
    return organisation, plan, following


def said_count(html):
    return int(re.search(r"Europol partners ([\d,]+) actions?", html).group(1).replace(",", ""))


def listed_codes(html):
    table = html.split('id="organisation-actions"')[1].split("</table>")[0]
    return re.findall(r'<a class="govuk-link" href="/actions/\d+/">([^<]+)</a>', table)


def link(html, text):
    return unescape(re.search(rf'<a class="govuk-link" href="([^"]+)">{text}</a>', html).group(1))


def register_total(client, url):
    html = client.get(url).content.decode()
    return int(re.search(r'role="status">(\d+) actions?', html).group(1))


def csv_rows(client, url):
    return list(csv.reader(io.StringIO(client.get(url).getvalue().decode("utf-8-sig"))))[1:]


@pytest.mark.parametrize("role", ["secretariat", "commissioner"])
@pytest.mark.parametrize(
    ("query", "expected"), [({}, ["5.11", "5.21", "5.22", "5.23", "5.24"]), ({"plan": "next-plan"}, ["5.21", "5.22"])]
)
def test_every_count_equals_what_its_link_leads_to(client, europol, request, role, query, expected):
    organisation, _, _ = europol
    client.force_login(request.getfixturevalue(role))
    html = client.get(organisation.get_absolute_url(), query).content.decode()
    # One plan: each action once, the archived one not at all.
    assert listed_codes(html) == expected
    assert said_count(html) == len(expected)
    assert register_total(client, link(html, "see them in the register")) == len(expected)
    assert sorted(row[0] for row in csv_rows(client, link(html, "download them as CSV"))) == expected
    # The plan switcher is there, on the plan shown.
    assert 'id="plan-switcher"' in html
    selected = "next-plan" if query else "current-plan"
    assert f'<option value="{selected}" selected>' in html
    # Reminders: those about this plan's actions.
    reminders = html.split('id="organisation-reminders-heading"')[1].split("</table>")[0]
    assert len(re.findall(r'href="/actions/\d+/">5\.21<', reminders)) == 1


@pytest.mark.parametrize("query", [{}, {"plan": "next-plan"}])
def test_the_list_and_the_dashboard_count_what_the_organisation_page_shows(client, commissioner, europol, query):
    organisation, _, _ = europol
    client.force_login(commissioner)
    html = client.get(LIST, query).content.decode()
    row = html.split('href="/organisations/europol/')[1].split("</tr>")[0]
    listed = int(re.findall(r'numeric">([\d,]+)<', row)[0])
    page = client.get(link(html, "Europol")).content.decode()
    assert listed == said_count(page) == len(listed_codes(page))
    # The dashboard's engagement table: the organisation's name leads to the same plan's page.
    html = client.get(DASHBOARD, query).content.decode().split('id="engagement"')[1].split("</table>")[0]
    engagement = html.split(">Europol</a>")[0].rsplit('href="', 1)[1].split('"')[0]
    partnered = int(re.search(r">Europol</a></th><td [^>]+><a [^>]+>(\d+)<", html).group(1))
    page = client.get(unescape(engagement)).content.decode()
    assert partnered == said_count(page) == len(listed_codes(page))


def test_the_organisation_page_names_the_plan_of_its_actions(client, secretariat, europol):
    organisation, _, _ = europol
    client.force_login(secretariat)
    html = client.get(organisation.get_absolute_url(), {"plan": "next-plan"}).content.decode()
    assert "Actions in Next plan" in html
    empty = OrganisationFactory(name="Newcomer", slug="newcomer")
    html = client.get(empty.get_absolute_url()).content.decode()
    assert "Newcomer is not a partner on any action of Current plan." in html


@pytest.mark.parametrize("count", [10, 120])
def test_the_organisation_page_runs_a_fixed_number_of_queries(
    client, secretariat, europol, count, django_assert_max_num_queries
):
    organisation, plan, _ = europol
    objective = ObjectiveFactory(priority=plan.priorities.get(), code="5.9")
    for n in range(count):
        ActionPartnerFactory(action=ActionFactory(objective=objective, code=f"5.9.{n}"), organisation=organisation)
    client.force_login(secretariat)
    # session, user, review count, the plans (plan_choice.py), organisation, people, count, page of
    # actions, reminders
    with django_assert_max_num_queries(10):
        assert client.get(organisation.get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(LIST).status_code == 200
