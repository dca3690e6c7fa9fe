import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from priorities.models import Action, ActionChange, ActionPartner, ProgressUpdate, Status, UpdateFrequency
from priorities.services import (
    StaleActionError,
    action_create,
    action_record_update,
    action_update_details,
)
from tests.factories import ActionFactory, ActionPartnerFactory, ObjectiveFactory, OrganisationFactory


@pytest.fixture
def action(db):
    return ActionFactory()


def test_record_update_changes_status_and_writes_history(action, secretariat):
    update = action_record_update(action=action, status=Status.ON_TRACK, note="Kicked off", by=secretariat)
    action.refresh_from_db()
    assert action.status == Status.ON_TRACK
    assert action.last_update == update
    assert action.version == 2
    assert update.previous_status == Status.NOT_STARTED
    assert update.action_version == 2
    change = ActionChange.objects.get(action=action)
    assert (change.field, change.old_value, change.new_value, change.changed_by) == (
        "status",
        "Not started",
        "On track",
        secretariat,
    )


@pytest.mark.parametrize(
    ("status", "note", "field"),
    [
        (Status.AT_RISK, "", "note"),
        (Status.OFF_TRACK, "   ", "note"),
        (Status.ON_TRACK, "", "note"),  # a change of status needs a note
        ("finished", "A note", "status"),
        (Status.ON_TRACK, "x" * 5001, "note"),
    ],
)
def test_bad_updates_are_refused_and_change_nothing(action, secretariat, status, note, field):
    with pytest.raises(ValidationError) as error:
        action_record_update(action=action, status=status, note=note, by=secretariat)
    assert field in error.value.message_dict
    action.refresh_from_db()
    assert action.status == Status.NOT_STARTED and action.version == 1
    assert not ProgressUpdate.objects.exists() and not ActionChange.objects.exists()


def test_same_status_without_a_note_is_allowed(action, secretariat):
    action_record_update(action=action, status=Status.NOT_STARTED, note="", by=secretariat)
    assert ProgressUpdate.objects.count() == 1
    assert not ActionChange.objects.exists()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/x", "not a link"])
def test_evidence_must_be_an_http_link(action, secretariat, url):
    with pytest.raises(ValidationError):
        action_record_update(action=action, status=Status.ON_TRACK, note="n", evidence_url=url, by=secretariat)
    assert not ProgressUpdate.objects.exists()


def test_stale_version_is_refused(action, secretariat):
    action_record_update(action=action, status=Status.ON_TRACK, note="first", by=secretariat, expected_version=1)
    with pytest.raises(StaleActionError) as error:
        action_record_update(action=action, status=Status.AT_RISK, note="second", by=secretariat, expected_version=1)
    assert [u.note for u in error.value.updates] == ["first"]
    assert [c.new_value for c in error.value.changes] == ["On track"]
    assert ProgressUpdate.objects.count() == 1


def test_update_details_records_each_change(action, secretariat):
    org_a, org_b = OrganisationFactory(name="Alpha"), OrganisationFactory(name="Beta")
    ActionPartnerFactory(action=action, organisation=org_a)
    changes = action_update_details(
        action=action,
        by=secretariat,
        expected_version=1,
        title="New title",
        owner=secretariat,
        update_frequency=UpdateFrequency.QUARTERLY,
        partners=[(org_a, ActionPartner.Role.LEAD), (org_b, ActionPartner.Role.SUPPORTING)],
    )
    fields = {c.field: (c.old_value, c.new_value) for c in changes}
    assert fields["title"][1] == "New title"
    assert fields["owner"] == ("", str(secretariat))
    assert fields["update_frequency"] == ("", "Quarterly")
    assert fields["partners"] == ("Alpha (supporting)", "Alpha (lead); Beta (supporting)")
    action.refresh_from_db()
    assert action.version == 2
    assert ActionChange.objects.filter(action=action, action_version=2).count() == 4


def test_update_details_without_changes_writes_nothing(action, secretariat):
    assert action_update_details(action=action, by=secretariat, title=action.title, partners=[]) == []
    action.refresh_from_db()
    assert action.version == 1


def test_update_details_refuses_reversed_dates(action, secretariat):
    import datetime

    with pytest.raises(ValidationError):
        action_update_details(
            action=action, by=secretariat, start_date=datetime.date(2026, 5, 1), target_date=datetime.date(2026, 4, 1)
        )
    action.refresh_from_db()
    assert action.start_date is None and not ActionChange.objects.exists()


def test_update_details_refuses_unknown_fields(action, secretariat):
    with pytest.raises(TypeError):
        action_update_details(action=action, by=secretariat, status=Status.COMPLETED)


def test_next_update_due_follows_the_last_update(action, secretariat):
    import datetime

    from django.utils import timezone

    action_update_details(
        action=action, by=secretariat, start_date=datetime.date(2026, 1, 31), update_frequency=UpdateFrequency.MONTHLY
    )
    action.refresh_from_db()
    assert action.next_update_due == datetime.date(2026, 2, 28)
    at = timezone.make_aware(datetime.datetime(2026, 3, 31, 12, 0))
    action_record_update(action=action, status=Status.ON_TRACK, note="n", by=secretariat, at=at)
    action.refresh_from_db()
    assert action.next_update_due == datetime.date(2026, 4, 30)


def test_action_create_records_creation(db, secretariat):
    action = action_create(
        objective=ObjectiveFactory(), code="9.99", title="T", description="D", by=secretariat, via="admin"
    )
    assert ActionChange.objects.get(action=action).field == "created"


def _race(target_a, target_b):
    barrier = threading.Barrier(2)
    outcomes = []

    def run(target):
        try:
            barrier.wait()
            target()
            outcomes.append("saved")
        except StaleActionError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in (target_a, target_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
def test_two_people_saving_at_once_one_save_one_refusal(secretariat):
    action = ActionFactory()
    outcome = _race(
        lambda: action_update_details(action=action, by=secretariat, expected_version=1, title="Alice's title"),
        lambda: action_update_details(action=action, by=secretariat, expected_version=1, title="Bob's title"),
    )
    assert outcome == ["refused", "saved"]
    action.refresh_from_db()
    assert action.version == 2
    assert ActionChange.objects.filter(action=action).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_updates_recorded_at_once_one_save_one_refusal(secretariat):
    action = ActionFactory()
    outcome = _race(
        lambda: action_record_update(action=action, status="on_track", note="a", by=secretariat, expected_version=1),
        lambda: action_record_update(action=action, status="at_risk", note="b", by=secretariat, expected_version=1),
    )
    assert outcome == ["refused", "saved"]
    assert Action.objects.get(pk=action.pk).version == 2
    assert ProgressUpdate.objects.filter(action=action).count() == 1
