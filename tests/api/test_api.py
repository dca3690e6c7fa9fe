"""The read API and its writes: the pages' visibility, filters, pages, ETags, limits, errors, reports."""

import datetime
import json
import uuid

import pytest
from django.core import mail
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.models import ApiReport, IdempotentRequest
from api.pagination import MAX_PAGE_SIZE
from indicators.models import Measurement, MeasurementSubmission
from priorities.models import Action, ActionChange, ProgressUpdate, Status, Submission
from priorities.services import action_archive, action_record_update
from tests.factories import ActionFactory, ActionPartnerFactory

V1 = "/api/v1"
ERROR_KEYS = {"status", "code", "detail", "fields"}


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(item["id"] for item in response.json()["results"])


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


# --- visibility: the pages' rules -----------------------------------------------------------------


def test_a_partner_sees_exactly_its_own_actions_and_staff_see_all(world):
    a, b = world.action_a.pk, world.action_b.pk
    assert ids(world.client("partner_a").get(f"{V1}/actions/")) == [a]
    assert ids(world.client("partner_b").get(f"{V1}/actions/")) == [b]
    assert ids(world.client("secretariat").get(f"{V1}/actions/")) == [a, b]
    assert ids(world.client("commissioner").get(f"{V1}/actions/")) == [a, b]
    assert world.client("partner_a").get(f"{V1}/actions/{b}/").status_code == 404
    assert world.client("partner_a").get(f"{V1}/actions/{a}/").status_code == 200


def test_an_action_reads_as_the_register_shows_it(world):
    world.action_a.refresh_from_db()
    item = world.client("partner_a").get(f"{V1}/actions/{world.action_a.pk}/").json()
    assert item["id"] == world.action_a.pk and item["url"].endswith(f"{V1}/actions/{world.action_a.pk}/")
    assert item["page_url"].endswith(world.action_a.get_absolute_url())
    assert item["code"] == "5.1" and item["status"] == "not_started" and item["status_label"] == "Not started"
    assert item["owner"] == {"id": world.users["secretariat"].pk, "name": "Sam Secretary"}
    assert item["partners"] == [{"organisation": world.orgs["a"].pk, "name": "Organisation A", "role": "lead"}]
    assert (
        item["objective"] == world.action_a.objective_id and item["plan"] == world.action_a.objective.priority.plan_id
    )
    assert item["awaiting_review"] is True  # partner A's own submission waits
    assert item["overdue"] is False and item["next_update_due"] is None  # no due date: not overdue (not null)
    assert datetime.datetime.fromisoformat(item["created_at"])  # ISO 8601


def test_the_other_lists_follow_the_pages_rules(world):
    partner_a, partner_b, secretariat = (world.client(role) for role in ("partner_a", "partner_b", "secretariat"))
    assert ids(partner_a.get(f"{V1}/submissions/")) == [world.submission_a.pk]
    assert ids(secretariat.get(f"{V1}/submissions/")) == sorted([world.submission_a.pk, world.submission_b.pk])
    assert partner_b.get(f"{V1}/submissions/{world.submission_a.pk}/").status_code == 404
    assert ids(partner_a.get(f"{V1}/value-submissions/")) == [world.value_submission_a.pk]
    assert ids(partner_b.get(f"{V1}/value-submissions/")) == []
    assert ids(partner_a.get(f"{V1}/organisations/")) == [world.orgs["a"].pk]
    assert ids(secretariat.get(f"{V1}/organisations/")) == sorted(org.pk for org in world.orgs.values())
    assert partner_a.get(f"{V1}/organisations/{world.orgs['b'].pk}/").status_code == 404
    # Indicators and measures are for everyone signed in, their linked actions only as far as one may see.
    indicator = partner_a.get(f"{V1}/indicators/").json()["results"][0]
    assert indicator["actions"] == [world.action_a.pk]
    assert ids(partner_b.get(f"{V1}/measures/")) == sorted([world.measure_a.pk, world.measure_b.pk])
    # Reminders name partner contacts: staff only, as on the action page.
    assert partner_a.get(f"{V1}/reminders/").status_code == 403
    assert ids(world.client("commissioner").get(f"{V1}/reminders/")) == [world.reminder_a.pk]


def test_status_history_is_the_visible_actions_updates(world):
    mine = action_record_update(action=world.action_a, status="on_track", note="Ok", by=world.users["secretariat"])
    action_record_update(action=world.action_b, status="at_risk", note="Hm", by=world.users["secretariat"])
    assert ids(world.client("partner_a").get(f"{V1}/status-history/")) == [mine.pk]
    item = world.client("partner_a").get(f"{V1}/status-history/{mine.pk}/").json()
    assert (item["status"], item["previous_status"], item["author"]) == ("on_track", "not_started", "Sam Secretary")


def _archived_action_of_a(world):
    action = ActionPartnerFactory(action__objective=world.action_a.objective, organisation=world.orgs["a"]).action
    action_archive(action=action, by=world.users["secretariat"])
    return action


def test_an_archived_action_leaves_the_list_but_its_id_still_reads(world):
    archived = _archived_action_of_a(world)
    client = world.client("partner_a")
    assert ids(client.get(f"{V1}/actions/")) == [world.action_a.pk]
    assert client.get(f"{V1}/actions/{archived.pk}/").json()["archived"] is True


# --- filters, ordering, pages ----------------------------------------------------------------------


def test_filters_as_on_the_register(world):
    secretariat = world.client("secretariat")
    action_record_update(action=world.action_b, status="at_risk", note="Late", by=world.users["secretariat"])
    Action.objects.filter(pk=world.action_a.pk).update(next_update_due=datetime.date(2000, 1, 1))
    a, b = world.action_a.pk, world.action_b.pk
    assert ids(secretariat.get(f"{V1}/actions/?status=at_risk")) == [b]
    assert ids(secretariat.get(f"{V1}/actions/?status=at_risk&status=not_started")) == [a, b]
    assert ids(secretariat.get(f"{V1}/actions/?partner={world.orgs['a'].pk}")) == [a]
    assert ids(secretariat.get(f"{V1}/actions/?overdue=true")) == [a]
    assert ids(secretariat.get(f"{V1}/actions/?overdue=false")) == [a, b]
    assert ids(secretariat.get(f"{V1}/actions/?objective={world.action_a.objective_id}")) == [a, b]
    assert ids(secretariat.get(f"{V1}/actions/?q=shelters")) == [b]
    assert ids(secretariat.get(f"{V1}/actions/?plan=999999")) == []
    # As on the register, a partner's own report awaiting review is not overdue.
    assert ids(world.client("partner_a").get(f"{V1}/actions/?overdue=true")) == []
    later = (timezone.now() + datetime.timedelta(minutes=5)).isoformat()
    assert ids(secretariat.get(f"{V1}/actions/", {"changed_since": later})) == []
    earlier = (timezone.now() - datetime.timedelta(minutes=5)).isoformat()
    assert ids(secretariat.get(f"{V1}/actions/", {"changed_since": earlier})) == [a, b]


def test_ordering_by_a_named_field_either_way(world):
    secretariat = world.client("secretariat")
    codes = [item["code"] for item in secretariat.get(f"{V1}/actions/?ordering=-code").json()["results"]]
    assert codes == ["5.2", "5.1"]
    refused = secretariat.get(f"{V1}/actions/?ordering=description")
    assert refused.status_code == 400 and "ordering" in refused.json()["fields"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=sideways", "status"),
        ("partner=abc", "partner"),
        ("plan=0", "plan"),
        (f"plan={2**70}", "plan"),
        ("overdue=perhaps", "overdue"),
        ("changed_since=yesterday", "changed_since"),
        ("changed_since=0050-05-11T15:11:57.1-20:03", "changed_since"),  # PostgreSQL refused it: a 500
        ("changed_since=0001-01-01T00:00:00%2B01:00", "changed_since"),
        ("page=0", "page"),
        ("page=x", "page"),
        ("page_size=0", "page_size"),
        (f"page_size={MAX_PAGE_SIZE + 1}", "page_size"),
    ],
)
def test_a_bad_filter_or_page_is_a_400_naming_it(world, query, field):
    response = world.client("secretariat").get(f"{V1}/actions/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS and body["status"] == 400 and body["code"] == "invalid" and field in body["fields"]


def test_pages_of_100_by_default_up_to_1000_with_next_links(world, django_assert_max_num_queries):
    objective = world.action_a.objective
    Action.objects.bulk_create(
        Action(objective=objective, code=f"9.{n}", title=f"Action {n}", description="d", sort_key=f"9.{n:06}")
        for n in range(1, 1100)
    )
    client = world.client("secretariat")
    first = client.get(f"{V1}/actions/").json()
    assert first["count"] == 1101 and len(first["results"]) == 100 and first["previous"] is None
    assert first["next"].endswith(f"{V1}/actions/?page=2")
    with django_assert_max_num_queries(6):
        big = client.get(f"{V1}/actions/?page_size=1000").json()
    assert len(big["results"]) == 1000 and "page=2" in big["next"]
    seen = [item["id"] for item in big["results"]]
    last = client.get(big["next"]).json()
    seen += [item["id"] for item in last["results"]]
    assert last["next"] is None and len(set(seen)) == 1101
    past = client.get(f"{V1}/actions/?page=99").json()
    assert past["results"] == [] and past["next"] is None and past["count"] == 1101


@pytest.mark.parametrize("role", ["partner_a", "secretariat"])
def test_each_list_runs_the_same_queries_whatever_its_length(world, role, django_assert_num_queries):
    client = world.client(role)
    paths = ["actions", "status-history", "submissions", "organisations", "indicators", "measures", "measurements"]
    client.get(f"{V1}/plans/")  # the token's "last used" written once
    action_record_update(action=world.action_a, status="on_track", note="n", by=world.users["secretariat"])
    before = {}
    for name in paths:
        with CaptureQueriesContext(connection) as captured:
            client.get(f"{V1}/{name}/")
        before[name] = len(captured)
    for n in range(30):
        action = ActionFactory(objective=world.action_a.objective, code=f"7.{n}")
        ActionPartnerFactory(action=action, organisation=world.orgs["a"])
        ActionPartnerFactory(action=action, organisation=world.orgs["b"])
        action_record_update(action=action, status="on_track", note="n", by=world.users["secretariat"])
    for name in paths:
        with django_assert_num_queries(before[name]):
            response = client.get(f"{V1}/{name}/")
        assert response.status_code == 200


# --- conditional GETs, limits, errors ---------------------------------------------------------------


def test_an_unchanged_response_is_a_304_to_its_etag(world):
    client = world.client("partner_a")
    response = client.get(f"{V1}/actions/")
    etag = response["ETag"]
    assert etag.startswith('"') and "Authorization" in response["Vary"]
    again = client.get(f"{V1}/actions/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    action_record_update(action=world.action_a, status="on_track", note="Ok", by=world.users["secretariat"])
    changed = client.get(f"{V1}/actions/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    # Another person's view of the same address is another body, so another ETag.
    assert world.client("secretariat").get(f"{V1}/actions/", headers={"If-None-Match": etag}).status_code == 200


def test_requests_past_the_limit_get_429_with_retry_after(world, settings):
    settings.API_REQUESTS_PER_MINUTE = 3
    client = world.client("partner_a")
    assert [client.get(f"{V1}/plans/").status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(f"{V1}/plans/")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["code"] == "throttled"
    # The count is per token: another token of the same person has its own.
    assert world.client("partner_a", "report").get(f"{V1}/plans/").status_code == 200


def test_errors_have_one_shape(world):
    client = world.client("partner_a")
    cases = [
        (client.get(f"{V1}/actions/{world.action_b.pk}/"), 404, "not_found"),
        (client.get(f"{V1}/no-such-thing/"), 404, "not_found"),
        (client.get(f"{V1}/actions/{2**70}/"), 404, "not_found"),
        (world.client().get(f"{V1}/actions/"), 401, "not_authenticated"),
        (world.client("partner_a", "report").delete(f"{V1}/actions/{world.action_a.pk}/"), 405, "method_not_allowed"),
        (client.get(f"{V1}/actions/", headers={"Accept": "text/html"}), 406, "not_acceptable"),
        (client.get(f"{V1}/actions/?q=a%00b"), 400, "bad_request"),
        (post(client, f"{V1}/actions/{world.action_a.pk}/reports/", {"status": "on_track"}), 403, "permission_denied"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (status, response.content)
        body = response.json()
        assert set(body) == ERROR_KEYS and body["status"] == status and body["code"] == code, body
        assert response["Content-Type"] == "application/json"


def test_a_database_outage_is_a_503_with_retry_after(world, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("api.views.PlanViewSet.get_queryset", down)
    response = world.client("partner_a").get(f"{V1}/plans/")
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert response.json()["code"] == "unavailable"


def test_the_api_sets_no_cookie_and_reads_no_session(world):
    response = post(
        world.client("partner_a", "report"),
        f"{V1}/actions/{world.action_a.pk}/reports/",
        {"status": "on_track", "note": "Fine"},
    )
    assert response.status_code == 201
    assert not response.cookies and "Cookie" not in response.get("Vary", "")


# --- writes ------------------------------------------------------------------------------------------


def test_a_partners_report_enters_the_review_queue_marked_and_notifies(
    world, client, django_capture_on_commit_callbacks
):
    partner = world.client("partner_a", "report")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            partner,
            f"{V1}/actions/{world.action_a.pk}/reports/",
            {"status": "at_risk", "note": "Funding is late", "evidence_url": "https://example.org/minutes"},
        )
    assert response.status_code == 201, response.content
    body = response.json()
    submission = Submission.objects.get(pk=body["id"])
    assert (submission.status, submission.note, submission.state) == ("at_risk", "Funding is late", "submitted")
    assert submission.submitted_by == world.users["partner_a"] and submission.organisation == world.orgs["a"]
    assert body["reported_through_api"] == "partner_a report" and response["Location"] == body["url"]
    assert ApiReport.objects.get(submission=submission).token.user == world.users["partner_a"]
    world.action_a.refresh_from_db()
    assert world.action_a.status == Status.NOT_STARTED  # waits for the secretariat, as in the browser
    notification = mail.outbox[-1]
    assert notification.to == [world.users["secretariat"].email]
    assert "Reported through the API with the token “partner_a report”." in notification.body
    client.force_login(world.users["secretariat"])
    queue = client.get(reverse("overview:review-queue")).content.decode()
    card = queue.split(f'id="submission-{submission.pk}"')[1].split('class="govuk-summary-card"')[0]
    assert "Reported through the API" in card and "“partner_a report”" in card


def test_a_secretariat_report_is_recorded_at_once_like_its_form(world):
    response = post(
        world.client("secretariat", "report"),
        f"{V1}/actions/{world.action_b.pk}/reports/",
        {"status": "off_track", "note": "No money"},
    )
    assert response.status_code == 201
    update = ProgressUpdate.objects.get(pk=response.json()["id"])
    assert update.author == world.users["secretariat"] and update.status == "off_track"
    world.action_b.refresh_from_db()
    assert world.action_b.status == "off_track"
    assert ActionChange.objects.get(action=world.action_b, field="status").via == "api"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "sideways"}, "status"),
        ({"status": "at_risk"}, "note"),  # the service's own rule: say why
        ({"status": "on_track", "note": "x", "evidence_url": "ftp://x"}, "evidence_url"),
        ({"status": "on_track", "note": "x" * 5001}, "note"),
        ({}, "status"),
    ],
)
def test_a_bad_report_is_a_400_naming_the_field_and_changes_nothing(world, body, field):
    before = Submission.objects.count()
    response = post(world.client("partner_a", "report"), f"{V1}/actions/{world.action_a.pk}/reports/", body)
    assert response.status_code == 400 and field in response.json()["fields"], response.content
    assert Submission.objects.count() == before and not ApiReport.objects.exists()


def test_reports_are_refused_outside_the_token_or_the_role(world):
    report = f"{V1}/actions/{world.action_b.pk}/reports/"
    body = {"status": "on_track", "note": "x"}
    assert post(world.client("partner_a", "report"), report, body).status_code == 404  # not theirs
    assert post(world.client("partner_b", "read"), report, body).status_code == 403  # read-only token
    assert post(world.client("commissioner", "read"), report, body).status_code == 403
    not_json = world.client("partner_b", "report").post(report, "status=on_track", content_type="text/plain")
    assert not_json.status_code == 415
    bad_json = world.client("partner_b", "report").post(report, "{", content_type="application/json")
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "parse_error"
    assert not Submission.objects.filter(action=world.action_b).exclude(pk=world.submission_b.pk).exists()


def test_an_archived_action_takes_no_report(world):
    archived = _archived_action_of_a(world)
    body = {"status": "on_track", "note": "x"}
    response = post(world.client("partner_a", "report"), f"{V1}/actions/{archived.pk}/reports/", body)
    assert response.status_code == 400 and "archived" in json.dumps(response.json())


def test_an_idempotency_key_makes_a_retry_create_nothing_twice(world, django_capture_on_commit_callbacks):
    client = world.client("partner_a", "report")
    path, key = f"{V1}/actions/{world.action_a.pk}/reports/", str(uuid.uuid4())
    body = {"status": "on_track", "note": "Second quarter"}
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, path, body, **{"Idempotency-Key": key})
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, path, body, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Submission.objects.filter(note="Second quarter").count() == 1 and len(mail.outbox) == sent
    reused = post(client, path, {**body, "note": "Something else"}, **{"Idempotency-Key": key})
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    # Another token's key is its own.
    assert post(world.client("secretariat", "report"), path, body, **{"Idempotency-Key": key}).status_code == 201
    bad = post(client, path, body, **{"Idempotency-Key": "x" * 201})
    assert bad.status_code == 400 and "Idempotency-Key" in bad.json()["fields"]


def test_a_failed_request_keeps_no_idempotency_key(world):
    client = world.client("partner_a", "report")
    path = f"{V1}/actions/{world.action_a.pk}/reports/"
    assert post(client, path, {"status": "at_risk"}, **{"Idempotency-Key": "k1"}).status_code == 400
    assert not IdempotentRequest.objects.exists()
    assert post(client, path, {"status": "at_risk", "note": "Why"}, **{"Idempotency-Key": "k1"}).status_code == 201


def test_a_partner_reports_a_value_for_its_own_measure(world, django_capture_on_commit_callbacks):
    client = world.client("partner_a", "report")
    body = {"period_start": "2026-01-01", "period_end": "2026-12-31", "value": 31, "source": "Case system"}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, f"{V1}/measures/{world.measure_a.pk}/values/", body)
    assert response.status_code == 201, response.content
    submission = MeasurementSubmission.objects.get(pk=response.json()["id"])
    assert submission.value == 31 and submission.api_report.token_name == "partner_a report"
    assert "Reported through the API" in mail.outbox[-1].body
    refused = post(client, f"{V1}/measures/{world.measure_b.pk}/values/", body)
    assert refused.status_code == 403 and "Only the organisation that reports this measure" in refused.json()["detail"]
    period = post(client, f"{V1}/measures/{world.measure_a.pk}/values/", {**body, "period_end": "2026-06-30"})
    assert period.status_code == 400


def test_the_secretariat_records_a_value_at_once(world):
    body = {"period_start": "2026-01-01", "period_end": "2026-12-31", "value": 7}
    response = post(world.client("secretariat", "report"), f"{V1}/measures/{world.measure_b.pk}/values/", body)
    assert response.status_code == 201
    assert Measurement.objects.get(pk=response.json()["id"]).recorded_by == world.users["secretariat"]


def test_the_root_lists_the_endpoints_feeds_schema_and_docs_without_a_token(world, client):
    root = client.get(f"{V1}/").json()
    assert root["version"] and root["schema"].endswith("/api/v1/schema/") and root["docs"].endswith("/api/v1/docs/")
    assert root["endpoints"]["actions"].endswith("/api/v1/actions/")
    assert root["feeds"]["actions"]["csv"].endswith("/api/v1/feeds/actions.csv")
    assert not Submission.objects.filter(state="accepted").exists()
    assert Action.objects.count() == 2
