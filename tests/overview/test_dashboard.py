"""The commissioner's dashboard and the progress report."""

import datetime
import re
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from priorities.charts import STATUS_ORDER
from priorities.counts import objective_status_recount
from priorities.models import Action, ActionPartner, Status
from priorities.services import action_record_update, action_update_details, submission_create
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    MeasureFactory,
    MeasurementFactory,
    ObjectiveFactory,
    OrganisationFactory,
    PartnerFactory,
    SuccessIndicatorFactory,
)

DASHBOARD = reverse("overview:dashboard")
REPORT = reverse("overview:progress-report")


def register_count(client, url):
    parsed = urlparse(url)
    assert parsed.path == reverse("priorities:action-list")
    response = client.get(f"{parsed.path}?{parsed.query}")
    # The register's status line ("3 actions"): read from the page, as the table may come from the cache.
    return int(re.search(r'role="status">(\d+) action', response.content.decode()).group(1))


@pytest.fixture
def busy_plan(plan5, secretariat):
    """Priority 5 with a few statuses and a partner report."""
    for code, status in [
        ("5.22", Status.AT_RISK),
        ("5.24", Status.OFF_TRACK),
        ("5.11", Status.ON_TRACK),
        ("5.33", Status.COMPLETED),
        ("5.42", Status.AT_RISK),
    ]:
        action_record_update(action=Action.objects.get(code=code), status=status, note=f"{code} note", by=secretariat)
    europol = ActionPartner.objects.filter(organisation__slug="europol").first().organisation
    partner = PartnerFactory(organisation=europol)
    submission_create(action=Action.objects.get(code="5.23"), by=partner, status=Status.ON_TRACK, note="Training")
    return plan5


def test_partners_get_403_on_both_pages(client, partner_a):
    client.force_login(partner_a)
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(REPORT).status_code == 403
    assert client.get(reverse("overview:progress-report-xlsx")).status_code == 403


def test_dashboard_counts_equal_the_register_counts(client, commissioner, busy_plan):
    client.force_login(commissioner)
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    headline = {item["status"]: item for item in response.context["headline"]}
    assert headline[Status.AT_RISK]["count"] == 2 and headline[Status.OFF_TRACK]["count"] == 1
    for item in headline.values():
        assert register_count(client, item["url"]) == item["count"], item["label"]
    for bar in response.context["chart"]["bars"]:
        assert register_count(client, bar["url"]) == bar["total"], bar["title"]
        for segment in bar["segments"]:
            assert register_count(client, segment["url"]) == segment["count"], (bar["title"], segment["label"])
    assert register_count(client, response.context["at_risk_url"]) == len(response.context["in_trouble"]) == 3
    assert register_count(client, response.context["overdue_url"]) == len(response.context["overdue"])


def test_indicator_panel_numbers_link_to_exactly_those_actions(client, commissioner, busy_plan):
    client.force_login(commissioner)
    html = client.get(DASHBOARD).content.decode().split('id="indicator-panel"')[1]
    links = re.findall(r'<a class="govuk-link" href="(/actions/\?[^"]*indicator=[^"]*)">(\d+)</a>', html)
    assert links
    for url, number in links:
        assert register_count(client, url.replace("&amp;", "&")) == int(number)


def test_engagement_numbers_link_to_exactly_those_actions(client, commissioner, busy_plan):
    client.force_login(commissioner)
    context = client.get(DASHBOARD).context
    engagement = {row["organisation__slug"]: row for row in context["engagement"]}
    europol = engagement["europol"]
    assert (europol["partnered"], europol["ever"], europol["never"]) == (4, 1, 3)
    for row in engagement.values():
        assert register_count(client, row["partnered_url"]) == row["partnered"]
        assert register_count(client, row["current_url"]) == row["current"]
        assert register_count(client, row["never_url"]) == row["never"]
    silent = {row["organisation__slug"] for row in context["silent"]}
    assert "europol" not in silent and "cps" in silent


def test_reported_within_the_cycle(client, commissioner, secretariat, plan5):
    action = Action.objects.get(code="5.23")
    action_update_details(action=action, by=secretariat, update_frequency=1)
    europol = ActionPartner.objects.get(action=action, organisation__slug="europol").organisation
    partner = PartnerFactory(organisation=europol)
    submission = submission_create(action=action, by=partner, status=Status.ON_TRACK, note="n")
    client.force_login(commissioner)
    row = next(r for r in client.get(DASHBOARD).context["engagement"] if r["organisation__slug"] == "europol")
    assert row["current"] == 1
    # Back-dated by hand (the app never moves a report in time), so the stored last report is set again.
    submission.submitted_at = timezone.now() - datetime.timedelta(days=40)
    submission.save()
    ActionPartner.objects.filter(action=action).refresh_last_reported()
    row = next(r for r in client.get(DASHBOARD).context["engagement"] if r["organisation__slug"] == "europol")
    assert row["current"] == 0 and row["ever"] == 1


def test_lists_show_the_most_urgent_and_link_to_the_rest(client, commissioner, db):
    objective = ObjectiveFactory()
    for _ in range(30):
        ActionFactory(objective=objective, status=Status.AT_RISK, next_update_due=datetime.date(2020, 1, 1))
    client.force_login(commissioner)
    response = client.get(DASHBOARD)
    assert len(response.context["in_trouble"]) == 25 and response.context["in_trouble_total"] == 30
    assert len(response.context["overdue"]) == 25 and response.context["overdue_total"] == 30
    html = response.content.decode()
    assert "all 30 in the register" in html
    assert register_count(client, response.context["overdue_url"]) == 30


def test_what_changed_since_a_date(client, commissioner, secretariat, plan5):
    action = Action.objects.get(code="5.22")
    old = timezone.now() - datetime.timedelta(days=60)
    action_record_update(action=action, status=Status.ON_TRACK, note="old", by=secretariat, at=old)
    action_record_update(action=action, status=Status.AT_RISK, note="recent", by=secretariat)
    client.force_login(commissioner)
    changes = list(client.get(DASHBOARD).context["status_changes"])
    assert [(c.old_value, c.new_value) for c in changes] == [("On track", "At risk")]
    since = (timezone.localdate() - datetime.timedelta(days=90)).isoformat()
    response = client.get(DASHBOARD, {"since": since})
    assert len(response.context["status_changes"]) == 2
    assert "Not started" in response.content.decode()


def report_row(client, code, **params):
    """The row of action `code` in its objective's section of the report."""
    html = client.get(REPORT, params).content.decode()
    return html.split(f'id="report-{code}"')[1].split("</tr>")[0]


def test_report_replays_the_history(client, commissioner, secretariat, plan5):
    action = Action.objects.get(code="5.22")
    then = timezone.now() - datetime.timedelta(days=20)
    action_record_update(action=action, status=Status.ON_TRACK, note="On course then", by=secretariat, at=then)
    action_record_update(action=action, status=Status.OFF_TRACK, note="Collapsed since", by=secretariat)
    client.force_login(commissioner)
    past = (timezone.localdate() - datetime.timedelta(days=10)).isoformat()
    row = report_row(client, "5.22", as_of=past)
    assert "On track" in row and "On course then" in row and "Collapsed since" not in row
    today_row = report_row(client, "5.22")
    assert "Off track" in today_row and "Collapsed since" in today_row
    before = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
    assert "Not started" in report_row(client, "5.22", as_of=before)
    # The objective's counts in the summary replay the same history.
    counts = client.get(REPORT, {"as_of": past}).content.decode().split(f'id="objective-{action.objective_id}"')[1]
    on_track = STATUS_ORDER.index(Status.ON_TRACK)
    cells = re.findall(r'govuk-table__cell--numeric">([\d,]+)<', counts.split("</tr>")[0])
    assert cells[on_track] == "1"


def test_report_refuses_a_future_date(client, commissioner, plan5):
    client.force_login(commissioner)
    response = client.get(REPORT, {"as_of": "2999-01-01"})
    assert response.status_code == 400
    assert "The date must be today or in the past." in response.content.decode()


def test_report_downloads_as_a_workbook_with_one_sheet_per_part(client, commissioner, busy_plan):
    import io

    from openpyxl import load_workbook

    client.force_login(commissioner)
    response = client.get(reverse("overview:progress-report-xlsx"))
    assert "no-store" in response["Cache-Control"]
    workbook = load_workbook(io.BytesIO(response.getvalue()))
    assert workbook.sheetnames == ["Summary", "Actions", "Indicators"]
    actions = list(workbook["Actions"].iter_rows(values_only=True))
    assert len(actions) == 16
    assert ("5.22", "Joint Investigation Teams", "At risk", "5.22 note") == (
        actions[6][3],
        actions[6][4],
        actions[6][5],
        actions[6][6],
    )
    assert len(list(workbook["Indicators"].iter_rows(values_only=True))) == 1 + 9


def test_report_workbook_has_real_dates_numbers_and_a_usable_layout(client, commissioner, busy_plan, secretariat):
    import io

    from openpyxl import load_workbook

    measure = MeasureFactory(
        indicator=SuccessIndicatorFactory(plan=busy_plan), name="Victims", baseline_value=1200, target_value=2500
    )
    measurement = MeasurementFactory(measure=measure, period_start=datetime.date(2024, 1, 1), value=1834)
    client.force_login(commissioner)
    today = timezone.localdate()
    workbook = load_workbook(io.BytesIO(client.get(reverse("overview:progress-report-xlsx")).getvalue()))
    for sheet in workbook:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=1, column=sheet.max_column).column_letter}{sheet.max_row}"
        assert all(cell.font.b for cell in sheet[1])
    summary = workbook["Summary"]
    assert [c.value for c in summary[1]] == ["As of", "Status", "Actions"]
    assert summary["A2"].is_date and summary["A2"].value.date() == today
    assert {row[1]: row[2] for row in summary.iter_rows(min_row=2, values_only=True)}["At risk"] == 2
    actions = workbook["Actions"]
    headings = [c.value for c in actions[1]]
    assert headings[7:9] == ["Last update", "Last update by"]
    row = next(r for r in actions.iter_rows(min_row=2) if r[3].value == "5.22")
    assert row[7].is_date and row[7].value.date() == today
    assert row[8].value == str(secretariat)
    assert actions.column_dimensions["D"].width == len("Code") + 2
    indicators = workbook["Indicators"]
    row = next(r for r in indicators.iter_rows(min_row=2) if r[2].value == "Victims")
    assert (row[4].value, row[5].value, row[6].value) == (1200, 2500, 1834)
    assert all(cell.data_type == "n" for cell in row[4:7])
    assert row[7].is_date and row[7].value.date() == measurement.period_end


def make_plan(count):
    objectives = [ObjectiveFactory() for _ in range(3)]
    orgs = [OrganisationFactory() for _ in range(4)]
    actions = [
        ActionFactory(objective=objectives[i % 3], next_update_due=datetime.date(2020, 1, 1)) for i in range(count)
    ]
    ActionPartner.objects.bulk_create(ActionPartner(action=a, organisation=orgs[i % 4]) for i, a in enumerate(actions))
    statuses = list(Status.values)
    Action.objects.bulk_update(
        [setattr(a, "status", statuses[i % 5]) or a for i, a in enumerate(actions)], ["status"], batch_size=500
    )
    objective_status_recount(objective_ids=[o.pk for o in objectives])  # bulk_update bypasses the services
    # Indicators grow with the plan too: one per 15 actions, each with measures and a few years of values.
    for n in range(max(1, count // 150)):
        indicator = SuccessIndicatorFactory(plan=objectives[0].priority.plan)
        indicator.actions.add(*actions[n::50])
        for measure in MeasureFactory.create_batch(2, indicator=indicator, baseline_value=1, target_value=10):
            for year in range(2019, 2025):
                MeasurementFactory(
                    measure=measure,
                    period_start=datetime.date(year, 1, 1),
                    period_end=datetime.date(year, 12, 31),
                    value=year - 2018,
                )
    return actions


@pytest.mark.parametrize("count", [15, 1500])
def test_dashboard_and_report_run_a_fixed_number_of_queries(
    commissioner, django_assert_max_num_queries, django_assert_num_queries, count
):
    make_plan(count)
    client = Client()
    client.force_login(commissioner)
    # session, user, the plans (plan_choice.py), data generation, stored counts, overdue count, objectives,
    # at risk, overdue, changes, engagement (counts, organisation names), indicators (+ measures, linked
    # actions, measurements)
    with django_assert_max_num_queries(16):
        response = client.get(DASHBOARD)
        assert response.status_code == 200
    assert "No values yet" not in response.content.decode().split('id="indicator-panel"')[1]
    # Again, unchanged: the body comes from the cache (session, user, the plans, data generation).
    with django_assert_num_queries(4):
        assert client.get(DASHBOARD).content.split(b"<main")[1] == response.content.split(b"<main")[1]
    # The report lists the actions (in parts beyond 500): one query more, whatever their number; and its
    # row in the access log.
    with django_assert_max_num_queries(13):
        assert client.get(REPORT).status_code == 200


def test_commissioner_lands_on_the_dashboard(client, commissioner):
    client.force_login(commissioner)
    assert client.get("/")["Location"] == DASHBOARD


def test_dashboard_links_from_the_partner_filter_are_scoped(client, partner_a, org_b):
    ActionPartnerFactory(organisation=org_b)
    client.force_login(partner_a)
    response = client.get(reverse("priorities:action-list"), {"partner": org_b.pk, "reporting": "never"})
    assert response.context["table"].paginator.count == 0


def test_the_date_box_shows_the_date_the_heading_names(client, commissioner, plan5):
    client.force_login(commissioner)
    default = timezone.localdate() - datetime.timedelta(days=30)
    html = client.get(reverse("overview:dashboard")).content.decode()
    assert f'name="since" value="{default.isoformat()}"' in html
    assert f"What changed since {default:%-d %B %Y}" in html


def test_printed_report_numbers_have_thousands_separators(client, commissioner, plan5):
    objective = ObjectiveFactory(priority=plan5.priorities.first())
    Action.objects.bulk_create(
        Action(objective=objective, code=f"9.{n}", title=f"Action {n}", description="", sort_key=f"9.{n:06}")
        for n in range(1, 1001)
    )
    measure = MeasureFactory(
        indicator=SuccessIndicatorFactory(plan=plan5), name="Victims", baseline_value=1200, target_value=2500000
    )
    MeasurementFactory(measure=measure, period_start=datetime.date(2024, 1, 1), value="1834567.50")
    client.force_login(commissioner)
    html = client.get(REPORT).content.decode()
    assert "1,015 actions: " in html and "1,015 not started" in html
    assert '<td class="govuk-table__cell govuk-table__cell--numeric">1,015</td>' in html
    row = html.split("<strong>Victims</strong>")[1].split("</tr>")[0]
    assert ">1,200<" in row and ">2,500,000<" in row and ">1,834,567.5<" in row


def test_every_action_table_of_the_report_has_the_same_fixed_columns(client, commissioner, busy_plan):
    client.force_login(commissioner)
    columns = (
        '<colgroup><col class="app-report-col--action"><col class="app-report-col--lead">'
        '<col class="app-report-col--status"><col class="app-report-col--note"><col class="app-report-col--dates">'
        "</colgroup>"
    )
    objectives = busy_plan.priorities.get(number=5).objectives.filter(actions__isnull=False).distinct()
    assert objectives.count() == 4
    html = client.get(REPORT).content.decode()
    tables = re.findall(r"<table[^>]*>.*?</table>", html, flags=re.S)
    action_tables = [t for t in tables if 'id="report-5.' in t]
    assert len(action_tables) == 4
    for table in action_tables:
        assert "app-report-table--actions" in table.split(">")[0] and columns in table
        headings = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', table)
        assert headings == ["Action", "Lead partner", "Status", "Latest note", "Dates"]


def test_report_offers_a_print_button_only_with_javascript(client, commissioner, plan5):
    client.force_login(commissioner)
    html = client.get(REPORT).content.decode()
    button = re.search(r"<button[^>]*data-app-print[^>]*>Print</button>", html).group(0)
    assert " hidden" in button and 'type="button"' in button
    assert '<script type="module" src="/static/js/print.js"></script>' in html
    assert "<script>" not in html  # no inline script: the Content-Security-Policy allows none
