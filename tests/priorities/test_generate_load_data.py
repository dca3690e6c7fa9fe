from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from priorities.models import (
    Action,
    ActionChange,
    ActionPartner,
    Plan,
    ProgressUpdate,
    Status,
    Submission,
    code_sort_key,
)
from priorities.services import action_next_update_due
from tracker.models import Organisation, User

SMALL = {"actions": 60, "updates": 900, "organisations": 12, "users": 30, "plans": 2, "seed": 7}


def generate(**overrides):
    options = {**SMALL, **overrides}
    call_command("generate_load_data", *(f"--{k}={v}" for k, v in options.items()), stdout=open("/dev/null", "w"))


@pytest.fixture
def generated(db, settings):
    settings.DEBUG = True
    generate()


def test_refuses_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        generate()
    assert not Action.objects.exists()
    call_command(
        "generate_load_data",
        "--force",
        "--actions=5",
        "--updates=10",
        "--organisations=2",
        "--users=5",
        stdout=open("/dev/null", "w"),
    )
    assert Action.objects.count() == 5


def test_refuses_to_run_twice_on_the_same_database(generated):
    with pytest.raises(CommandError, match="already holds load test data"):
        generate()


def test_counts_match_the_arguments(generated):
    assert Plan.objects.count() == 2
    assert sorted(Plan.objects.values_list("title", flat=True)) == ["Load test plan 1", "Load test plan 2"]
    assert Action.objects.count() == 60
    assert ProgressUpdate.objects.count() == 900
    assert Organisation.objects.filter(name__startswith="Load test organisation").count() == 12
    assert User.objects.filter(username__startswith="load-").count() == 30


def test_every_row_is_recognisably_generated(generated):
    assert not ProgressUpdate.objects.filter(is_demo=False).exists()
    assert not Action.objects.exclude(objective__priority__plan__title__startswith="Load test plan").exists()
    assert not User.objects.exclude(username__startswith="load-").exists()
    assert set(ActionChange.objects.values_list("via", flat=True)) == {"load_test"}


def test_status_and_last_update_are_the_newest_update(generated):
    for action in Action.objects.select_related("objective__priority__plan", "last_update"):
        newest = ProgressUpdate.objects.filter(action=action).order_by("-created_at", "-pk").first()
        if newest is None:
            assert action.status == Status.NOT_STARTED
            assert action.last_update is None
        else:
            assert action.last_update == newest
            assert action.status == newest.status
        assert action.version == 1 + action.updates.count()
        assert action.sort_key == code_sort_key(action.code)


def test_next_update_due_is_computed_as_the_services_do(generated):
    actions = list(Action.objects.select_related("objective__priority__plan", "last_update"))
    assert all(action.next_update_due for action in actions)
    for action in actions:
        last_at = action.last_update.created_at if action.last_update else None
        assert action.next_update_due == action_next_update_due(action=action, last_update_at=last_at)


def test_history_chains_previous_statuses_and_records_status_changes(generated):
    expected_changes = 0
    for action in Action.objects.all():
        previous = Status.NOT_STARTED
        for update in action.updates.order_by("created_at", "pk"):
            assert update.previous_status == previous
            expected_changes += update.status != update.previous_status
            previous = update.status
    assert ActionChange.objects.filter(field="status").count() == expected_changes
    assert ActionChange.objects.filter(field="created").count() == 60


def test_history_spans_about_three_years(generated):
    oldest = ProgressUpdate.objects.order_by("created_at").first().created_at
    newest = ProgressUpdate.objects.order_by("-created_at").first().created_at
    assert (newest - oldest).days > 2 * 365


def test_users_partners_and_submissions_have_a_realistic_shape(generated):
    assert User.objects.filter(role=User.Role.SECRETARIAT).exists()
    assert User.objects.filter(role=User.Role.COMMISSIONER).exists()
    assert not User.objects.filter(role=User.Role.PARTNER, organisation__isnull=True).exists()
    assert not ActionPartner.objects.exclude(organisation__name__startswith="Load test organisation").exists()
    per_org = sorted(Counter(ActionPartner.objects.values_list("organisation_id", flat=True)).values(), reverse=True)
    # Skewed: the busiest organisation partners several times as many actions as a typical one.
    assert per_org[0] >= 3 * per_org[len(per_org) // 2]
    # Partner-reported updates came in as accepted submissions, by a user of that organisation.
    partner_updates = ProgressUpdate.objects.filter(organisation__isnull=False)
    assert partner_updates.exists()
    accepted = Submission.objects.filter(state=Submission.State.ACCEPTED).select_related("progress_update")
    assert accepted.count() == partner_updates.count()
    for submission in accepted:
        assert submission.progress_update.organisation_id == submission.organisation_id
        assert submission.submitted_by.organisation_id == submission.organisation_id
