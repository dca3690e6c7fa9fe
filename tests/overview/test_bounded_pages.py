"""Issue 18, bounded pages: the partner home and the review queue never render every action.

Each shows a summary, the first rows of what needs attention, and one page (50) of a list; the full
lists stay downloads. Their size and query count do not grow with the number of actions. (The
progress report lists up to 500 actions, then is in parts: tests/overview/test_progress_report.py;
the plan page: tests/priorities/test_bounded_pages.py; an indicator's page:
tests/indicators/test_bounded_pages.py.)
"""

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from priorities.models import Status
from priorities.services import action_record_update, submission_create, submission_return
from tests.factories import ObjectiveFactory, OrganisationFactory, PartnerFactory, partnered_actions
from tracker.paging import ATTENTION_LIMIT, PAGE_SIZE

HOME = reverse("home")
REPORT = reverse("overview:progress-report")


def rows(html, table_id):
    body = html.split(f'id="{table_id}"')[1].split("</table>")[0].split("<tbody")[1]
    return body.count('<tr class="govuk-table__row"')


def list_items(html, list_id):
    return html.split(f'id="{list_id}"')[1].split("</ul>")[0].count("<li>")


@pytest.fixture
def busy_partner(db, secretariat):
    """A partner whose organisation partners 130 actions: 30 overdue, 30 due soon, 40 done, 30 returned reports."""
    organisation = OrganisationFactory(name="Busy", slug="busy")
    partner = PartnerFactory(organisation=organisation)
    today = timezone.localdate()
    partnered_actions(organisation, 30, due=today - datetime.timedelta(days=3), prefix="1")
    partnered_actions(organisation, 30, due=today + datetime.timedelta(days=10), prefix="2")
    partnered_actions(organisation, 40, status=Status.COMPLETED, prefix="3")
    for action in partnered_actions(organisation, 30, due=today + datetime.timedelta(days=90), prefix="4"):
        submission = submission_create(action=action, by=partner, status=Status.AT_RISK, note="n")
        submission_return(submission=submission, by=secretariat, reason="Please add the figures.")
    # Another organisation's actions count nowhere.
    partnered_actions(OrganisationFactory(), 5, prefix="9")
    return partner


def test_partner_home_summarises_and_pages_its_actions(client, busy_partner):
    client.force_login(busy_partner)
    response = client.get(HOME)
    summary = response.context["summary"]
    assert summary["total"] == 130 and summary[Status.COMPLETED] == 40 and summary[Status.ON_TRACK] == 90
    assert (summary["overdue"], summary["due_soon"], summary["awaiting_review"]) == (30, 30, 0)
    assert response.context["returned_total"] == 30
    html = response.content.decode()
    # What needs attention first: never more than ATTENTION_LIMIT rows each, with the total beside them.
    assert list_items(html, "overdue-actions") == ATTENTION_LIMIT
    assert f"The {ATTENTION_LIMIT} overdue longest of 30" in html and "?overdue=on" in html
    assert list_items(html, "due-soon") == ATTENTION_LIMIT
    assert list_items(html, "returned-submissions") == ATTENTION_LIMIT
    # Then every action, 50 a page, with GOV.UK pagination.
    assert rows(html, "partner-actions") == PAGE_SIZE
    assert "1 to 50 of 130" in html and 'class="govuk-pagination"' in html
    assert 'aria-current="page">1<' in html and 'href="?page=2#partner-actions"' in html
    last = client.get(HOME, {"page": 3}).content.decode()
    assert rows(last, "partner-actions") == 30 and "101 to 130 of 130" in last
    codes = re.findall(
        r'<a class="govuk-link" href="/actions/\d+/">([\d.]+)</a>', last.split('id="partner-actions"')[1]
    )
    assert codes[0] == "4.1" and "9.1" not in codes


@pytest.mark.parametrize("page", ["0", "-1", "x", "99999999999999999999", "1e3", " 2"])
def test_a_page_number_out_of_range_or_not_a_number_is_a_page_not_an_error(client, busy_partner, page):
    client.force_login(busy_partner)
    response = client.get(HOME, {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number in (1, 3)


def test_past_the_last_page_is_the_last_page(client, busy_partner):
    client.force_login(busy_partner)
    assert client.get(HOME, {"page": 40}).context["page"].number == 3


def test_the_full_list_is_the_registers_download_of_the_organisations_actions(client, busy_partner):
    client.force_login(busy_partner)
    html = client.get(HOME).content.decode()
    href = re.search(r'<a class="govuk-link" id="partner-download" href="([^"]+)"', html).group(1)
    assert href == reverse("priorities:action-export-csv")
    response = client.get(href)
    assert response.streaming
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert len(lines) == 1 + 130
    assert not any(line[0].startswith("9.") for line in lines[1:])


def grow_partner(partner, count, offset):
    organisation = partner.organisation
    today = timezone.localdate()
    partnered_actions(organisation, count, due=today - datetime.timedelta(days=5), prefix=f"{offset}1")
    partnered_actions(organisation, count, due=today + datetime.timedelta(days=5), prefix=f"{offset}2")
    actions = partnered_actions(organisation, count, prefix=f"{offset}3")
    for action in actions[: count // 2]:
        submission_create(action=action, by=partner, status=Status.AT_RISK, note="n")


def test_partner_home_size_and_queries_do_not_grow_with_the_actions(db):
    partner = PartnerFactory(organisation=OrganisationFactory())
    client = Client()
    client.force_login(partner)
    sizes, counts = [], []
    for offset, count in ((1, 60), (2, 60)):  # 180 actions, then 360
        grow_partner(partner, count, offset)
        client.get(HOME)  # warm
        with CaptureQueriesContext(connection) as captured:
            html = client.get(HOME).content.decode()
        counts.append(len(captured))
        sizes.append(len(html))
        assert rows(html, "partner-actions") == PAGE_SIZE
    assert counts[0] == counts[1], counts
    # The same rows at twice the actions: only the numbers in the summary differ.
    assert abs(sizes[1] - sizes[0]) < 300, sizes


@pytest.mark.parametrize("count", [20, 200])
def test_partner_home_runs_a_fixed_number_of_queries(db, django_assert_max_num_queries, count):
    partner = PartnerFactory(organisation=OrganisationFactory())
    grow_partner(partner, count, 1)
    client = Client()
    client.force_login(partner)
    # session, user, the partner's plans (plan_choice.py), navigation counts, summary, awaiting review,
    # overdue, due soon, returned (and their number), the page of actions (its count is the summary's),
    # submissions, measures, values.
    with django_assert_max_num_queries(14):
        assert client.get(HOME).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(HOME, {"page": 2}).status_code == 200


# --- the review queue -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [PAGE_SIZE, PAGE_SIZE + 10])
def test_the_review_queue_shows_the_oldest_fifty(client, secretariat, count, django_assert_max_num_queries):
    organisation = OrganisationFactory()
    partner = PartnerFactory(organisation=organisation)
    actions = partnered_actions(organisation, count, prefix="3")
    submissions = [submission_create(action=a, by=partner, status=Status.ON_TRACK, note="n") for a in actions]
    client.force_login(secretariat)
    with django_assert_max_num_queries(6):
        html = client.get(reverse("overview:review-queue")).content.decode()
    assert html.count('<div class="govuk-summary-card" id="submission-') == PAGE_SIZE
    assert f'id="submission-{submissions[0].pk}"' in html and f'id="submission-{submissions[PAGE_SIZE - 1].pk}"' in html
    assert ('id="more-pending"' in html) == (count > PAGE_SIZE)


# --- the progress report: its rows (tests/overview/test_progress_report.py lists every action, issue 22) ---


def test_todays_report_reads_the_last_update_and_agrees_with_the_replayed_history(client, commissioner, secretariat):
    """Today's statuses come from each action's last update (no replay); they match replaying the history."""
    objective = ObjectiveFactory(code="6.3")
    actions = partnered_actions(OrganisationFactory(), 6, objective=objective, prefix="6.3")
    earlier = timezone.now() - datetime.timedelta(days=5)
    for action, statuses in zip(actions, [[Status.ON_TRACK], [Status.AT_RISK, Status.OFF_TRACK], [Status.COMPLETED]]):
        for hours, status in enumerate(statuses):
            at = earlier + datetime.timedelta(hours=hours)
            action_record_update(action=action, status=status, note=f"{status} note", by=secretariat, at=at)
    client.force_login(commissioner)
    yesterday = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    today = client.get(REPORT).content.decode()
    replayed = client.get(REPORT, {"as_of": yesterday}).content.decode()

    def counts(html):
        return re.findall(r'numeric">([\d,]+)<', html.split(f'id="objective-{objective.pk}"')[1].split("</tr>")[0])

    def section(html):
        # The rows (the caption names the date).
        return html.split(f'id="objective-actions-{objective.pk}"')[1].split("<tbody")[1].split("</table>")[0]

    assert counts(today) == counts(replayed) == ["1", "0", "1", "3", "1", "6"]
    assert section(today) == section(replayed)
    assert "off_track note" in section(today) and "at_risk note" not in section(today)


def test_the_date_box_shows_the_date_the_heading_names(client, commissioner):
    """Before anyone picks a date, and on any part of the report, the box holds the report's date (ISO)."""
    ObjectiveFactory(code="6.1")
    client.force_login(commissioner)
    today = timezone.localdate().isoformat()
    for query in ({}, {"page": 2}):
        html = client.get(REPORT, query).content.decode()
        assert re.search(rf'<input type="date" name="as_of" value="{today}"', html)
    past = (timezone.localdate() - datetime.timedelta(days=7)).isoformat()
    html = client.get(REPORT, {"as_of": past, "page": 2}).content.decode()
    assert re.search(rf'<input type="date" name="as_of" value="{past}"', html)


def test_the_partner_home_summary_lists_the_statuses_it_has_without_a_trailing_comma(client, db):
    organisation = OrganisationFactory()
    partner = PartnerFactory(organisation=organisation)
    partnered_actions(organisation, 3, prefix="1")  # on track; none completed, the last status in the order
    client.force_login(partner)
    assert "3: 3 on track</dd>" in client.get(HOME).content.decode()
