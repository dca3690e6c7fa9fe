import pytest
from django.core.management import CommandError, call_command

from indicators.models import Measurement
from priorities.models import Action, ActionChange, ProgressUpdate
from tracker.models import User


@pytest.fixture
def demo(plan5):
    call_command("load_demo", force=True, verbosity=0)


def counts():
    return (
        User.objects.count(),
        ProgressUpdate.objects.count(),
        Measurement.objects.count(),
        ActionChange.objects.count(),
    )


def test_demo_accounts_and_schedule(demo):
    users = {u.username: u for u in User.objects.all()}
    assert set(users) == {"secretariat", "commissioner", "partner-europol", "partner-homeoffice"}
    assert users["partner-europol"].organisation.name == "Europol"
    assert users["partner-homeoffice"].organisation.name == "Home Office"
    assert all(u.email.endswith("@example.org") for u in users.values())
    assert users["secretariat"].check_password("demo")
    for action in Action.objects.all():
        assert action.owner == users["secretariat"]
        assert action.start_date and action.target_date and action.update_frequency
        assert action.next_update_due is not None
    assert Action.objects.overdue().exists(), "the demo should show something overdue"
    assert Action.objects.get(code="5.22").status == "at_risk"
    assert all(u.is_demo and u.note.startswith("Demo") for u in ProgressUpdate.objects.all())
    assert all(m.is_demo for m in Measurement.objects.all())


def test_demo_runs_again_without_duplicating(demo):
    before = counts()
    call_command("load_demo", force=True, verbosity=0)
    assert counts() == before


def test_demo_password_from_the_environment(plan5, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "another demo password")
    call_command("load_demo", force=True, verbosity=0)
    assert User.objects.get(username="commissioner").check_password("another demo password")


def test_demo_refuses_with_debug_off(plan5, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo", verbosity=0)
    assert not User.objects.exists()


def test_bootstrap_loads_the_plan_once(db, settings):
    settings.DEBUG = True
    call_command("bootstrap", verbosity=0)
    assert Action.objects.count() == 15
    assert User.objects.filter(username="secretariat").exists()
    call_command("bootstrap", verbosity=0)
    assert Action.objects.count() == 15
