"""A person's data: everything held about them, as JSON and CSV in one zip, and nothing of anyone else."""

import csv
import datetime
import io
import json
import zipfile

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse

from audit.models import AccessEvent
from indicators.services import measurement_record
from plan_imports.services import plan_import_store
from priorities.models import Status
from priorities.services import action_record_update, action_update_details, plan_publish
from tests.factories import (
    ActionPartnerFactory,
    MeasureFactory,
    OrganisationFactory,
    SecretariatFactory,
)
from tests.privacy.history import person_with_history
from tracker.access import Kind
from tracker.personal_data import EXPORT_PARTS

# The parts a partner user who signed in, downloaded, reported and was written to has rows in.
PARTNER_PARTS = {
    "account",
    "invitations",
    "two_step_devices",
    "sign_ins",
    "sessions",
    "admin_log",
    "progress_updates",
    "submissions",
    "reminders",
    "notifications",
    "report_links",
    "choices",
    "measurement_submissions",
    "access_log",
    "security_log",
    "retention_holds",
}
# And a member of the secretariat who owns, edits, decides and imports.
STAFF_PARTS = {
    "account",
    "actions_owned",
    "progress_updates",
    "submissions",
    "plan_changes",
    "plan_decisions",
    "measurements",
    "indicator_changes",
    "plan_imports",
    "invitations",
    "access_log",
    "retention_holds",
}


def _partner_world(secretariat, name, email, address):
    organisation = OrganisationFactory(name=f"{name} Agency")
    action = ActionPartnerFactory(organisation=organisation).action
    measure = MeasureFactory(reporting_organisation=organisation)
    first, last = name.split()
    return person_with_history(
        organisation=organisation,
        action=action,
        measure=measure,
        secretariat=secretariat,
        first_name=first,
        last_name=last,
        email=email,
        address=address,
    )


def _download(client, person):
    response = client.get(reverse("privacy:person-export", args=[person.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    return zipfile.ZipFile(io.BytesIO(response.getvalue()))


def _text_of(archive):
    return "\n".join(archive.read(name).decode("utf-8-sig") for name in archive.namelist())


@pytest.fixture
def two_partners(db):
    secretariat = SecretariatFactory(first_name="Sam", last_name="Secretary")
    zelda = _partner_world(secretariat, "Zelda Quartermaine", "zelda.quartermaine@agency.example", "198.51.100.21")
    yusuf = _partner_world(secretariat, "Yusuf Bramblewood", "yusuf.bramblewood@agency.example", "198.51.100.22")
    return secretariat, zelda, yusuf


def test_the_download_holds_every_kind_of_row_about_them_and_nothing_of_another_person(client, two_partners):
    secretariat, (zelda, _), (yusuf, _) = two_partners
    client.force_login(secretariat)
    archive = _download(client, zelda)
    data = json.loads(archive.read("personal-data.json"))
    parts = data["parts"]
    assert set(parts) == {part.name for part in EXPORT_PARTS}
    empty = {name for name in PARTNER_PARTS if not parts[name]["rows"]}
    assert not empty, f"No rows in {sorted(empty)}"
    # Each part is also a CSV file with the same rows.
    for name, part in parts.items():
        rows = list(csv.reader(io.StringIO(archive.read(f"csv/{name}.csv").decode("utf-8-sig"))))
        assert len(rows) - 1 == len(part["rows"]) or (not part["rows"] and rows == [["(nothing held)"]]), name
    text = _text_of(archive)
    for term in ("Zelda Quartermaine", "zelda.quartermaine@agency.example", "198.51.100.21", "Met the agency twice."):
        assert term in text
    for term in (
        "Yusuf",
        "Bramblewood",
        "yusuf.bramblewood@agency.example",
        "198.51.100.22",
        "Yusuf Bramblewood Agency",
    ):
        assert term not in text, f"{term!r} is another person's and is in Zelda's download"
    # What the rows say, for some of them.
    assert {row["their_part"] for row in parts["submissions"]["rows"]} == {"submitted"}
    assert {row["state"] for row in parts["submissions"]["rows"]} == {"Accepted", "Returned"}
    assert [row["recorded_by"] for row in parts["progress_updates"]["rows"]] == ["Zelda Quartermaine"]
    assert {row["kind"] for row in parts["reminders"]["rows"]} == {"Due soon", "Overdue"}
    assert all(row["to"] == "zelda.quartermaine@agency.example" for row in parts["notifications"]["rows"])
    assert {row["kind"] for row in parts["two_step_devices"]["rows"]} == {"authenticator app", "recovery codes"}
    assert "abcd2345" not in text  # a recovery code is a secret: how many, never which
    assert any(row["event"] == "signed in" for row in parts["sign_ins"]["rows"])
    assert any("sign-in failed" in row["line"] for row in parts["security_log"]["rows"])
    assert "README.txt" in archive.namelist()


def test_the_download_of_a_member_of_the_secretariat_holds_what_they_did(client, two_partners):
    secretariat, (zelda, _), _ = two_partners
    action = ActionPartnerFactory().action
    action_update_details(action=action, by=secretariat, owner=secretariat)
    action_record_update(action=action, status=Status.ON_TRACK, note="Checked", by=secretariat)
    plan_publish(plan=action.objective.priority.plan, by=secretariat)
    measure = MeasureFactory()
    measurement_record(
        measure=measure,
        by=secretariat,
        period_start=datetime.date(2020, 1, 1),
        period_end=datetime.date(2020, 12, 31),
        value=2,
    )
    plan_import_store(filename="plan.csv", content=b"priority\n", by=secretariat, new_plan_title="Next")
    from priorities.services import priority_archive

    priority_archive(priority=ActionPartnerFactory().action.objective.priority, by=secretariat)
    client.force_login(secretariat)  # signing in is in the access log
    client.force_login(SecretariatFactory())
    parts = json.loads(_download(client, secretariat).read("personal-data.json"))["parts"]
    empty = {name for name in STAFF_PARTS if not parts[name]["rows"]}
    assert not empty, f"No rows in {sorted(empty)}"
    assert {row["decision"] for row in parts["plan_decisions"]["rows"]} >= {"published", "archived"}
    assert parts["progress_updates"]["rows"][0]["their_part"] in {"recorded", "accepted"}


def test_the_download_is_recorded_in_the_access_log_with_whose_data(client, two_partners):
    secretariat, (zelda, _), _ = two_partners
    client.force_login(secretariat)
    archive = _download(client, zelda)
    event = AccessEvent.objects.get(kind=Kind.PERSON_EXPORT)
    rows = sum(len(part["rows"]) for part in json.loads(archive.read("personal-data.json"))["parts"].values())
    assert (event.user, event.subject, event.rows) == (secretariat, zelda, rows)
    assert "Zelda" not in event.what  # the log names them through the account, which anonymising renames


def test_every_model_that_points_at_a_person_is_in_a_part_of_the_download():
    """A new model with a person in it (an API token, say) must say what of it goes in a person's data."""
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    covered = {label.lower() for part in EXPORT_PARTS for label in part.models}
    missing = set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.auto_created:
            continue  # the user's groups and permissions: Django's own, not rows about what they did
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model is user_model:
                if model._meta.label_lower not in covered:
                    missing.add(f"{model._meta.label}.{field.name}")
    assert not missing, (
        f"These point at a person but no part of a person's data download reads them: {sorted(missing)}. "
        "Register a part in the app's AppConfig.ready() (tracker.personal_data.register_export)."
    )
