"""The access log: every download, report as of a date, person's data, sign-in and admin page is recorded
(who, when, what, from where, how many rows), listed for the secretariat with filters and a CSV, append-only."""

import csv
import datetime
import io
import zipfile

import openpyxl
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, SecurityEvent
from audit.services import access_event_record
from tests.factories import CommissionerFactory, OrganisationFactory, PartnerFactory, SecretariatFactory
from tests.test_access_matrix import EXPECTED, ROLES, _url, world  # noqa: F401 (world is a fixture)
from tracker import spreadsheets
from tracker.access import Kind

SECRETARIAT = ROLES.index("secretariat")
PASSWORD = "correct horse battery"
# Every download the access matrix reaches as the secretariat: a new one not recorded fails the first test,
# and one missing from this list (a download that stopped being one) fails it too.
DOWNLOADS = {
    "audit:access-log-csv",
    "indicators:export",
    "indicators:import-errors",
    "indicators:import-template",
    "indicators:indicator-export",
    "overview:progress-report-xlsx",
    "priorities:action-export-csv",
    "priorities:action-export-xlsx",
    "plan_imports:plan-import-errors",
    "plan_imports:plan-import-template",
    "privacy:person-export",
}


def _data_rows(response, body):
    """The data rows a downloaded file holds: CSV rows below the heading, every sheet's rows below theirs."""
    kind = response["Content-Type"]
    if kind.startswith("text/csv"):
        return len(list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))) - 1
    if kind == spreadsheets.XLSX_TYPE:
        workbook = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return sum(max(sum(1 for _ in sheet.iter_rows()) - 1, 0) for sheet in workbook.worksheets)
    return None


def test_every_download_url_in_the_access_matrix_writes_an_access_log_row(world):  # noqa: F811
    users, kwargs = world
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.force_login(users["secretariat"])
    downloads = set()
    recorded = AccessEvent.objects.filter(kind__in=[Kind.DOWNLOAD, Kind.PERSON_EXPORT])
    for name in sorted(EXPECTED):
        if EXPECTED[name][0][SECRETARIAT] != 200 or name == "audit:access-log":
            continue
        url = _url(name, kwargs)
        before = recorded.count()
        response = client.get(url)
        body = response.getvalue()
        # The open data is public, the same for everyone: reading it is no access to record (nor a visitor's address).
        if name.startswith("public:") or not response.get("Content-Disposition", "").startswith("attachment"):
            assert recorded.count() == before, f"{name} is not a download of private data, yet it recorded one"
            continue
        downloads.add(name)
        assert recorded.count() == before + 1, f"{name}: no access log row"
        event = recorded.order_by("-pk").first()
        assert event.user == users["secretariat"] and event.role == "secretariat", name
        assert event.path == url and event.client == "198.51.100.7" and event.complete, name
        assert timezone.now() - event.at < datetime.timedelta(minutes=1), name
        if name == "privacy:person-export":
            assert event.kind == Kind.PERSON_EXPORT and event.subject == users["partner_a"]
            files = [name for name in zipfile.ZipFile(io.BytesIO(body)).namelist() if name.endswith(".csv")]
            assert event.rows > 0 and len(files) > 1
        else:
            assert event.kind == Kind.DOWNLOAD, name
            assert event.rows == _data_rows(response, body), f"{name}: {event.rows} rows recorded"
    assert downloads == DOWNLOADS


def test_a_partners_download_is_recorded_with_their_organisation(client, partner_a, db):
    client.force_login(partner_a)
    response = client.get(reverse("priorities:action-export-csv"), REMOTE_ADDR="203.0.113.9")
    b"".join(response.streaming_content)
    event = AccessEvent.objects.get(kind=Kind.DOWNLOAD)
    assert (event.user, event.role, event.organisation) == (partner_a, "partner", partner_a.organisation)
    assert event.client == "203.0.113.9" and event.rows == 0


def test_a_download_broken_off_is_recorded_with_the_rows_sent_by_then(client, secretariat, monkeypatch):
    from tests.priorities.test_register import make_actions

    make_actions(6, partners=1)
    monkeypatch.setattr(spreadsheets, "CSV_CHUNK_ROWS", 2)
    client.force_login(secretariat)
    response = client.get(reverse("priorities:action-export-csv"))
    stream = iter(response.streaming_content)
    next(stream), next(stream)  # the byte-order mark, then the heading and the first action
    assert not AccessEvent.objects.filter(kind=Kind.DOWNLOAD).exists()  # recorded when the stream ends
    # The client went away: the server closes the response (its request_finished must not close the test's
    # database connection, which holds the test's transaction).
    monkeypatch.setattr(connection, "close_if_unusable_or_obsolete", lambda: None)
    response.close()
    event = AccessEvent.objects.get(kind=Kind.DOWNLOAD)
    assert event.complete is False and event.rows == 1


def test_the_report_as_of_a_date_is_recorded_with_the_actions_it_covered(client, commissioner, plan5):
    client.force_login(commissioner)
    day = timezone.localdate() - datetime.timedelta(days=3)
    assert client.get(reverse("overview:progress-report"), {"as_of": day.isoformat()}).status_code == 200
    event = AccessEvent.objects.get(kind=Kind.REPORT)
    assert event.what == f"Progress report as of {day:%Y-%m-%d}" and event.user == commissioner
    assert event.rows == sum(o.actions.count() for o in plan5.priorities.get().objectives.all())


@pytest.mark.parametrize("factory", [SecretariatFactory, CommissionerFactory, PartnerFactory])
def test_signing_in_is_recorded_with_the_role(client, factory, db):
    person = factory()
    response = client.post(
        reverse("login"), {"username": person.username, "password": PASSWORD}, REMOTE_ADDR="192.0.2.44"
    )
    assert response.status_code == 302
    event = AccessEvent.objects.get(kind=Kind.SIGN_IN)
    assert event.user == person and event.role == person.role and event.client == "192.0.2.44"
    assert event.what == f"Signed in as {person.get_role_display().lower()}"
    assert SecurityEvent.objects.filter(person=person, message__startswith="sign-in: ").exists()


def test_admin_pages_and_changes_are_recorded(client, db):
    admin = SecretariatFactory(is_staff=True, is_superuser=True)
    organisation = OrganisationFactory(name="Europol", slug="europol")
    client.force_login(admin)
    assert client.get(reverse("admin:tracker_organisation_changelist")).status_code == 200
    change = reverse("admin:tracker_organisation_change", args=[organisation.pk])
    assert client.get(change).status_code == 200
    data = {"name": "Europol", "short_name": "", "slug": "europol", "kind": "eu_agency", "country": "", "website": ""}
    assert client.post(change, {**data, "contact_email": ""}).status_code == 302
    assert client.post(change, {**data, "contact_email": "not an address"}).status_code == 200
    events = list(AccessEvent.objects.filter(kind__startswith="admin").order_by("pk").values_list("kind", "what"))
    assert events == [
        (Kind.ADMIN_VIEW, "admin: tracker_organisation_changelist"),
        (Kind.ADMIN_VIEW, f"admin: tracker_organisation_change #{organisation.pk}"),
        (Kind.ADMIN_CHANGE, f"admin: tracker_organisation_change #{organisation.pk}"),
        # A POST with errors changed nothing: it was a view of the form.
        (Kind.ADMIN_VIEW, f"admin: tracker_organisation_change #{organisation.pk}"),
    ]


def test_failed_sign_ins_and_account_changes_are_kept_in_the_security_log(client, partner_a):
    client.post(reverse("login"), {"username": "partner-a", "password": "wrong"}, REMOTE_ADDR="192.0.2.9")
    client.post(reverse("login"), {"username": "nobody-here", "password": "wrong"}, REMOTE_ADDR="192.0.2.9")
    failures = SecurityEvent.objects.filter(level=SecurityEvent.Level.WARNING).order_by("pk")
    assert [(e.person, e.username) for e in failures] == [(partner_a, "partner-a"), (None, "nobody-here")]
    assert failures[0].message == "sign-in failed: user=partner-a from=192.0.2.9"


def _events(count, **fields):
    for index in range(count):
        access_event_record(kind=Kind.DOWNLOAD, what=f"actions-{index}.csv", rows=index, client="10.0.0.1", **fields)


def test_the_log_lists_for_the_secretariat_in_a_fixed_number_of_queries(client, django_assert_max_num_queries, db):
    secretariat = SecretariatFactory()
    partner = PartnerFactory()
    client.force_login(secretariat)
    for count in (3, 120):
        _events(count, user=partner)
        # session, user, navigation count, the page's rows counted and read, the organisations to filter by
        with django_assert_max_num_queries(6):
            response = client.get(reverse("audit:access-log"))
        assert response.status_code == 200
    page = response.content.decode()
    assert page.count('<tr class="govuk-table__row">') == 50 + 1  # 50 a page, and the heading row
    assert f"{123 + 1:,} entries" in page  # and the sign-in


def test_the_log_filters_and_its_csv_holds_the_filtered_rows(client, db):
    secretariat = SecretariatFactory()
    europol = OrganisationFactory(name="Europol")
    zelda = PartnerFactory(first_name="Zelda", last_name="Q", organisation=europol)
    other = PartnerFactory()
    _events(2, user=zelda)
    _events(3, user=other)
    access_event_record(user=zelda, kind=Kind.REPORT, what="Progress report as of 2026-01-01", client="10.9.9.9")
    client.force_login(secretariat)
    cases = [
        ({"who": "zelda"}, 3),
        ({"organisation": europol.pk}, 3),
        ({"kind": Kind.REPORT}, 1),
        ({"client": "10.9."}, 1),
        ({"user": zelda.pk, "kind": Kind.DOWNLOAD}, 2),
        ({"since": timezone.localdate().isoformat(), "role": "partner"}, 6),
        ({"until": (timezone.localdate() - datetime.timedelta(days=1)).isoformat()}, 0),
    ]
    for query, expected in cases:
        response = client.get(reverse("audit:access-log"), query)
        assert response.context["table"].paginator.count == expected, query
        download = client.get(reverse("audit:access-log-csv"), query)
        rows = list(csv.reader(io.StringIO(download.getvalue().decode("utf-8-sig"))))
        assert len(rows) - 1 == expected, query
    # An impossible filter selects nothing, with a message, not everything.
    response = client.get(reverse("audit:access-log"), {"user": "999999999"})
    assert response.context["table"].paginator.count == 0 and "There is a problem" in response.content.decode()


@pytest.mark.parametrize("model", ["audit_accessevent", "audit_securityevent"])
def test_the_logs_are_append_only_in_the_admin(client, db, model):
    admin = SecretariatFactory(is_staff=True, is_superuser=True)
    access_event_record(user=admin, kind=Kind.DOWNLOAD, what="x.csv")
    SecurityEvent.objects.create(level="info", message="sign-in: user=x from=y")
    row = (AccessEvent if model == "audit_accessevent" else SecurityEvent).objects.first()
    client.force_login(admin)
    assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{model}_add")).status_code == 403
    page = client.get(reverse(f"admin:{model}_change", args=[row.pk])).content.decode()
    assert 'name="_save"' not in page
    assert client.post(reverse(f"admin:{model}_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()
