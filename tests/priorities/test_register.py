"""The action register at /actions/ and its CSV and Excel exports."""

import csv
import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from priorities.models import Action, ActionPartner, Status
from priorities.services import action_record_update
from tests.factories import ActionFactory, ActionPartnerFactory, ObjectiveFactory, OrganisationFactory

REGISTER = reverse("priorities:action-list")
CSV = reverse("priorities:action-export-csv")
XLSX = reverse("priorities:action-export-xlsx")


def codes_in(response):
    """The action codes in the register's table, read from the page (the table may come from the cache)."""
    table = response.content.decode().split('id="action-register"')[1].split("</table>")[0]
    return re.findall(r'<td class="[^"]*"><a class="govuk-link" href="/actions/\d+/">([^<]+)</a>', table)


def make_actions(count, *, objective=None, partners=2):
    objective = objective or ObjectiveFactory()
    organisations = [OrganisationFactory() for _ in range(partners)]
    actions = ActionFactory.create_batch(count, objective=objective)
    ActionPartner.objects.bulk_create(
        ActionPartner(action=a, organisation=o, role=ActionPartner.Role.SUPPORTING)
        for a in actions
        for o in organisations
    )
    return actions


def test_anonymous_users_sign_in_first(client, db):
    response = client.get(REGISTER)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(CSV).status_code == 302


def test_register_columns_and_natural_code_order(client, secretariat, plan5):
    client.force_login(secretariat)
    response = client.get(REGISTER)
    assert response.status_code == 200
    codes = codes_in(response)
    assert codes[:5] == ["5.11", "5.12", "5.13", "5.14", "5.21"]
    headers = [c.header for c in response.context["table"].columns]
    assert headers == [
        "Code",
        "Title",
        "Objective",
        "Status",
        "Owner",
        "Partners",
        "Last update",
        "Next update due",
        "Overdue",
    ]
    html = response.content.decode()
    assert reverse("priorities:action-detail", args=[511]) in html


def test_code_sorting_is_natural(client, secretariat):
    objective = ObjectiveFactory(code="7.1")
    for code in ["7.10", "7.9", "7.21", "7.2", "7.11"]:
        ActionFactory(objective=objective, code=code)
    client.force_login(secretariat)
    assert codes_in(client.get(REGISTER, {"sort": "code"})) == ["7.2", "7.9", "7.10", "7.11", "7.21"]
    assert codes_in(client.get(REGISTER, {"sort": "-code"})) == ["7.21", "7.11", "7.10", "7.9", "7.2"]


@pytest.mark.parametrize(
    "sort", ["title", "objective", "status", "owner", "partners", "last_update", "next_update_due", "overdue"]
)
def test_every_column_sorts(client, secretariat, plan5, sort):
    client.force_login(secretariat)
    for direction in (sort, f"-{sort}"):
        response = client.get(REGISTER, {"sort": direction})
        assert response.status_code == 200
        assert len(codes_in(response)) == 15


def test_filters(client, secretariat, plan5):
    client.force_login(secretariat)
    a22 = Action.objects.get(code="5.22")
    action_record_update(action=a22, status=Status.AT_RISK, note="JIT funding late", by=secretariat)
    a42 = Action.objects.get(code="5.42")
    action_record_update(action=a42, status=Status.OFF_TRACK, note="Stalled", by=secretariat)
    assert codes_in(client.get(REGISTER, {"status": "at_risk"})) == ["5.22"]
    assert codes_in(client.get(REGISTER, {"status": ["at_risk", "off_track"]})) == ["5.22", "5.42"]
    europol = ActionPartner.objects.filter(organisation__slug="europol").first().organisation
    assert codes_in(client.get(REGISTER, {"partner": europol.pk})) == ["5.21", "5.22", "5.23", "5.24"]
    objective = a22.objective
    assert codes_in(client.get(REGISTER, {"objective": objective.pk}))[0] == "5.21"
    assert codes_in(client.get(REGISTER, {"q": "Santa Marta"})) == ["5.33"]
    assert codes_in(client.get(REGISTER, {"q": "5.4"})) == ["5.41", "5.42"]
    assert codes_in(client.get(REGISTER, {"owner": secretariat.pk})) == []
    assert codes_in(client.get(REGISTER, {"overdue": "on"})) == []


def test_overdue_filter_and_mark(client, secretariat, db):
    import datetime

    overdue = ActionFactory(code="8.11", next_update_due=datetime.date(2020, 1, 1))
    ActionFactory(code="8.12", next_update_due=datetime.date(2999, 1, 1))
    ActionFactory(code="8.13", next_update_due=datetime.date(2020, 1, 1), status=Status.COMPLETED)
    client.force_login(secretariat)
    response = client.get(REGISTER, {"overdue": "on"})
    assert codes_in(response) == [overdue.code]
    assert "Overdue" in response.content.decode()


def test_htmx_request_gets_only_the_table(client, secretariat, plan5):
    client.force_login(secretariat)
    response = client.get(REGISTER, {"status": "not_started"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="action-table"')
    assert "<html" not in html and "action-filters" not in html


def test_paginated_by_50(client, secretariat, db):
    make_actions(120, partners=0)
    client.force_login(secretariat)
    assert len(codes_in(client.get(REGISTER))) == 50
    assert len(codes_in(client.get(REGISTER, {"page": 3}))) == 20


@pytest.mark.parametrize("count", [15, 1500])
def test_register_runs_a_fixed_number_of_queries(
    client, secretariat, django_assert_max_num_queries, django_assert_num_queries, count
):
    make_actions(count, partners=3)
    client.force_login(secretariat)
    # session, user, data generation, review count (navigation), the plans (plan_choice.py), count, rows,
    # partners, filter choices (5)
    with django_assert_max_num_queries(13):
        response = client.get(REGISTER, {"sort": "partners"})
    assert response.status_code == 200
    with django_assert_max_num_queries(13):
        client.get(REGISTER, {"status": ["not_started"], "q": "Action"})
    # The same query again, nothing changed: session, user, data generation, review count, the plans.
    with django_assert_num_queries(5):
        assert (
            client.get(REGISTER, {"sort": "partners"}).content.split(b"<main")[1] == response.content.split(b"<main")[1]
        )


EXPORT_HEADINGS = [
    "Code",
    "Title",
    "Objective",
    "Status",
    "Owner",
    "Partners",
    "Last update",
    "Last update by",
    "Next update due",
    "Overdue",
]


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig"))))


def workbook(response):
    return load_workbook(io.BytesIO(response.getvalue()))


def test_csv_export_matches_the_filter_and_neutralises_formulas(client, secretariat, plan5):
    client.force_login(secretariat)
    action = Action.objects.get(code="5.22")
    action.title = '=HYPERLINK("http://evil")'
    action.save()
    response = client.get(CSV, {"partner": ActionPartner.objects.filter(action=action).first().organisation_id})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0] == EXPORT_HEADINGS
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code["5.22"][1] == '\'=HYPERLINK("http://evil")'
    assert by_code["5.22"][5] == "Eurojust; Europol; Police forces across the UK"
    assert by_code["5.22"][2] == "5.2 Enhanced European collaboration"


def test_export_shows_the_last_update_as_a_date_and_who_made_it(client, secretariat, plan5):
    secretariat.first_name, secretariat.last_name = "Sam", "Secretariat"
    secretariat.save()
    action = Action.objects.get(code="5.22")
    action_record_update(action=action, status=Status.AT_RISK, note="Late", by=secretariat)
    client.force_login(secretariat)
    row = {r[0]: r for r in csv_rows(client.get(CSV))}["5.22"]
    today = timezone.localdate()
    assert row[3] == "At risk"
    assert row[6:8] == [today.isoformat(), "Sam Secretariat"]
    sheet = workbook(client.get(XLSX, {"q": "5.22"})).active
    assert [c.value for c in sheet[1]] == EXPORT_HEADINGS
    assert sheet["G2"].value == datetime.datetime.combine(today, datetime.time.min)  # a real date
    assert sheet["G2"].is_date and sheet["G2"].number_format == "yyyy-mm-dd"
    assert sheet["H2"].value == "Sam Secretariat"


def test_partners_are_listed_lead_first_then_by_name(client, secretariat, db):
    action = ActionFactory()
    for name, role in [("Zeta", "supporting"), ("Beta", "lead"), ("Alpha", "supporting")]:
        ActionPartnerFactory(action=action, organisation=OrganisationFactory(name=name), role=role)
    client.force_login(secretariat)
    assert csv_rows(client.get(CSV))[1][5] == "Beta (lead); Alpha; Zeta"
    assert workbook(client.get(XLSX)).active["F2"].value == "Beta (lead); Alpha; Zeta"


def test_excel_export_has_the_same_rows(client, secretariat, plan5):
    client.force_login(secretariat)
    action = Action.objects.get(code="5.11")
    action.title = "@SUM(A1)"
    action.save()
    rows_from_csv = csv_rows(client.get(CSV, {"q": "prevention"}))
    response = client.get(XLSX, {"q": "prevention"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = workbook(response).active
    xlsx_rows = [
        [
            cell.isoformat()[:10] if isinstance(cell, datetime.datetime) else cell if cell is not None else ""
            for cell in row
        ]
        for row in sheet.iter_rows(values_only=True)
    ]
    assert xlsx_rows == rows_from_csv
    assert ["5.11", "'@SUM(A1)"] == xlsx_rows[1][:2]


def test_excel_export_is_a_usable_spreadsheet(client, secretariat, plan5):
    """Dates are dates, the header is frozen and filtered, and each column is as wide as its content."""
    Action.objects.filter(code="5.11").update(next_update_due=datetime.date(2026, 3, 31))
    client.force_login(secretariat)
    sheet = workbook(client.get(XLSX)).active
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:J{1 + Action.objects.count()}"
    assert all(cell.font.b for cell in sheet[1])
    due = next(row[8] for row in sheet.iter_rows(min_row=2) if row[0].value == "5.11")
    assert due.value == datetime.datetime(2026, 3, 31) and due.is_date
    assert all(row[1].data_type == "s" for row in sheet.iter_rows(min_row=2))
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFGHIJ"}
    longest_title = max(len(a.title) for a in Action.objects.all())
    assert widths["A"] == len("Code") + 2  # codes are shorter than their heading
    assert widths["B"] == min(longest_title + 2, 60)
    assert widths["I"] == len("Next update due") + 2


def test_exports_sort_as_the_register_does(client, secretariat, plan5):
    client.force_login(secretariat)
    for sort in ("-code", "title", "partners", "-status"):
        register = codes_in(client.get(REGISTER, {"sort": sort}))
        assert [row[0] for row in csv_rows(client.get(CSV, {"sort": sort}))[1:]] == register, sort
        sheet = workbook(client.get(XLSX, {"sort": sort})).active
        assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == register, sort


def test_downloads_are_never_stored_by_a_cache(client, secretariat, plan5):
    client.force_login(secretariat)
    for url in (CSV, XLSX):
        assert "no-store" in client.get(url)["Cache-Control"], url


@pytest.mark.parametrize("count", [15, 600])
def test_exports_run_a_fixed_number_of_queries(client, secretariat, django_assert_num_queries, count):
    """The rows come from one values() query and the partners from one more: the count does not grow with the rows."""
    make_actions(count, partners=3)
    client.force_login(secretariat)
    for url in (CSV, XLSX):
        # session, user, the plans (plan_choice.py), the partner lists, the rows, the access log's row
        with django_assert_num_queries(6):
            response = client.get(url, {"sort": "partners"})
            body = response.getvalue()
        assert body


def test_partner_sees_only_their_organisations_actions(client, partner_a, org_b, db):
    mine = ActionPartnerFactory(organisation=partner_a.organisation).action
    theirs = ActionPartnerFactory(organisation=org_b).action
    client.force_login(partner_a)
    response = client.get(REGISTER)
    assert codes_in(response) == [mine.code]
    # Filter choices show no other organisation, and no owners.
    form = response.context["filter"].form
    assert list(form.fields["partner"].queryset) == [partner_a.organisation]
    assert "owner" not in form.fields
    # Asking for another organisation's actions by id is refused as an invalid choice: nothing shown.
    assert codes_in(client.get(REGISTER, {"partner": org_b.pk})) == []
    exported = client.get(CSV).getvalue().decode("utf-8-sig")
    assert mine.code in exported and theirs.code not in exported
    assert theirs.code not in client.get(CSV, {"partner": org_b.pk}).getvalue().decode("utf-8-sig")
