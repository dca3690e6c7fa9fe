"""The data feeds for Excel and Power BI: tidy, streamed, ISO dates, ids to join on, the API's visibility."""

import csv
import datetime
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.feeds import FEEDS
from priorities.models import Action
from priorities.services import action_record_update
from tests.factories import ActionFactory, ActionPartnerFactory

V1 = "/api/v1/feeds"


def body(response):
    assert response.status_code == 200, response.content
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def csv_rows(response):
    text = body(response)
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with it
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_actions_feed_is_one_row_per_visible_action_with_ids_and_iso_dates(world):
    Action.objects.filter(pk=world.action_a.pk).update(
        start_date=datetime.date(2025, 4, 1), next_update_due=datetime.date(2000, 1, 1)
    )
    action_record_update(action=world.action_b, status="at_risk", note="Late", by=world.users["secretariat"])
    rows = csv_rows(world.client("secretariat").get(f"{V1}/actions.csv"))
    assert [row["action_id"] for row in rows] == [str(world.action_a.pk), str(world.action_b.pk)]
    a, b = rows
    assert a["code"] == "5.1" and a["status"] == "not_started" and a["status_label"] == "Not started"
    assert a["objective_id"] == str(world.action_a.objective_id) and a["owner_name"] == "Sam Secretary"
    assert a["start_date"] == "2025-04-01" and a["overdue"] == "true" and a["target_date"] == ""
    assert b["overdue"] == "false" and b["status"] == "at_risk"
    assert datetime.datetime.fromisoformat(b["last_update_at"]).tzinfo is not None
    partner = csv_rows(world.client("partner_a").get(f"{V1}/actions.csv"))
    assert [row["action_id"] for row in partner] == [str(world.action_a.pk)]


def test_the_json_feed_holds_the_same_rows_typed(world):
    rows = json.loads(body(world.client("secretariat").get(f"{V1}/actions.json")))
    assert [row["action_id"] for row in rows] == [world.action_a.pk, world.action_b.pk]
    assert rows[0]["owner_id"] == world.users["secretariat"].pk and rows[0]["overdue"] is False
    assert rows[1]["owner_id"] is None and rows[1]["update_frequency_months"] == 3
    measurements = json.loads(body(world.client("partner_b").get(f"{V1}/measurements.json")))
    assert measurements[0]["value"] == 12.0 and measurements[0]["period_start"] == "2024-01-01"


def test_partnerships_join_actions_to_organisations(world):
    rows = csv_rows(world.client("secretariat").get(f"{V1}/action-partners.csv"))
    assert {(row["action_id"], row["organisation_id"], row["role"]) for row in rows} == {
        (str(world.action_a.pk), str(world.orgs["a"].pk), "lead"),
        (str(world.action_b.pk), str(world.orgs["b"].pk), "lead"),
    }
    organisations = csv_rows(world.client("partner_a").get(f"{V1}/organisations.csv"))
    assert [row["organisation_id"] for row in organisations] == [str(world.orgs["a"].pk)]


def test_submissions_say_which_came_through_the_api(world):
    world.client("partner_a", "report").post(
        f"/api/v1/actions/{world.action_a.pk}/reports/",
        {"status": "on_track", "note": "Through the API"},
        content_type="application/json",
    )
    rows = csv_rows(world.client("partner_a").get(f"{V1}/submissions.csv"))
    assert [(row["note"], row["reported_through_api"]) for row in rows] == [
        ("Going well", ""),
        ("Through the API", "partner_a report"),
    ]
    assert csv_rows(world.client("partner_b").get(f"{V1}/value-submissions.csv")) == []


def test_text_a_spreadsheet_could_run_is_neutralised_in_csv_not_in_json(world):
    Action.objects.filter(pk=world.action_a.pk).update(title="=HYPERLINK(1)")
    assert csv_rows(world.client("partner_a").get(f"{V1}/actions.csv"))[0]["title"] == "'=HYPERLINK(1)"
    assert json.loads(body(world.client("partner_a").get(f"{V1}/actions.json")))[0]["title"] == "=HYPERLINK(1)"


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_every_feed_needs_a_token_and_streams_for_every_role(world, name):
    for fmt in ("csv", "json"):
        refused = world.client().get(f"{V1}/{name}.{fmt}")
        assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"
        for role in ("partner_a", "partner_b", "secretariat", "commissioner"):
            response = world.client(role).get(f"{V1}/{name}.{fmt}")
            text = body(response)
            assert response["Content-Disposition"] == f'attachment; filename="{name}.{fmt}"'
            if fmt == "json":
                rows = json.loads(text)
                assert all(list(row) == [column.name for column in FEEDS[name].columns] for row in rows)
            else:
                assert text.splitlines()[0].replace('"', "").lstrip("\ufeff").split(",") == [
                    column.name for column in FEEDS[name].columns
                ]


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_a_feed_runs_the_same_queries_whatever_its_length(world, name):
    client = world.client("secretariat")
    client.get("/api/v1/plans/")  # "last used" written

    def count():
        with CaptureQueriesContext(connection) as captured:
            body(client.get(f"{V1}/{name}.csv"))
        return len(captured)

    before = count()
    for n in range(20):
        action = ActionFactory(objective=world.action_a.objective, code=f"8.{n}")
        ActionPartnerFactory(action=action, organisation=world.orgs["a"])
        action_record_update(action=action, status="on_track", note="n", by=world.users["secretariat"])
    assert count() == before <= 3
