"""The secretariat's public choices in the signed-in pages: on an update, a measurement and an action's summary."""

import pytest
from django.urls import reverse

from indicators.models import IndicatorChange, Measurement
from priorities.models import ActionChange, ProgressUpdate, Status
from priorities.services import action_record_update
from tests.factories import ActionFactory, MeasureFactory, PartnerFactory, SecretariatFactory


@pytest.fixture
def secretariat(db):
    return SecretariatFactory()


def test_an_update_is_not_public_unless_chosen(client, secretariat):
    action = ActionFactory()
    client.force_login(secretariat)
    url = reverse("priorities:action-record-update", args=[action.pk])
    client.post(url, {"status": Status.ON_TRACK, "note": "Started", "version": action.version})
    action.refresh_from_db()
    client.post(url, {"status": Status.ON_TRACK, "note": "Going well", "is_public": "on", "version": action.version})
    assert dict(ProgressUpdate.objects.values_list("note", "is_public")) == {"Started": False, "Going well": True}


def test_the_secretariat_shows_and_withdraws_an_update(client, secretariat):
    action = ActionFactory()
    update = action_record_update(action=action, status=Status.ON_TRACK, note="n", by=secretariat)
    client.force_login(secretariat)
    url = reverse("priorities:progress-update-public", args=[action.pk, update.pk])
    page = client.get(action.get_absolute_url()).content.decode()
    assert url in page and "Show on the public pages" in page
    client.post(url, {"public": "1"})
    update.refresh_from_db()
    assert update.is_public
    assert "Withdraw from the public pages" in client.get(action.get_absolute_url()).content.decode()
    client.post(url, {"public": "0"})
    update.refresh_from_db()
    assert not update.is_public
    assert ActionChange.objects.filter(action=action, field="update_public", changed_by=secretariat).count() == 2
    response = client.post(url, {"public": "maybe"}, follow=True)
    assert "Choose whether the update is public." in response.content.decode()


def test_an_update_of_another_action_is_not_found(client, secretariat):
    update = action_record_update(action=ActionFactory(), status=Status.ON_TRACK, note="n", by=secretariat)
    client.force_login(secretariat)
    url = reverse("priorities:progress-update-public", args=[ActionFactory().pk, update.pk])
    assert client.post(url, {"public": "1"}).status_code == 404


def test_partners_get_no_public_choice(client, secretariat):
    partner = PartnerFactory()
    action = ActionFactory()
    action.partnerships.create(organisation=partner.organisation)
    client.force_login(partner)
    page = client.get(action.get_absolute_url()).content.decode()
    assert "is_public" not in page and "Show on the public pages" not in page


def test_public_summary_is_edited_with_the_action_and_recorded(client, secretariat):
    action = ActionFactory()
    client.force_login(secretariat)
    url = reverse("priorities:action-edit", args=[action.pk])
    form = {
        "objective": action.objective_id,
        "code": action.code,
        "title": action.title,
        "description": action.description,
        "version": action.version,
        "public_summary": "  Work has started.  ",
    }
    client.post(url, form)
    action.refresh_from_db()
    assert action.public_summary == "Work has started."
    change = ActionChange.objects.get(action=action, field="public_summary")
    assert change.new_value == "Work has started." and change.field_label == "Public summary"
    response = client.post(url, {**form, "version": action.version, "public_summary": "x" * 1001})
    assert response.status_code == 400
    action.refresh_from_db()
    assert action.public_summary == "Work has started."


def test_a_measurement_is_public_only_when_chosen_and_the_choice_is_recorded(client, secretariat):
    measure = MeasureFactory()
    client.force_login(secretariat)
    url = reverse("indicators:measurement-create", args=[measure.pk])
    client.post(url, {"period_start": "2024-01-01", "period_end": "2024-12-31", "value": "3"})
    client.post(url, {"period_start": "2025-01-01", "period_end": "2025-12-31", "value": "4", "is_public": "on"})
    assert dict(Measurement.objects.values_list("value", "is_public")) == {3: False, 4: True}
    hidden = Measurement.objects.get(value=3)
    edit = reverse("indicators:measurement-update", args=[hidden.pk])
    client.post(edit, {"period_start": "2024-01-01", "period_end": "2024-12-31", "value": "3", "is_public": "on"})
    hidden.refresh_from_db()
    assert hidden.is_public
    change = IndicatorChange.objects.filter(field="is_public").latest("pk")
    assert (change.old_value, change.new_value) == ("No", "Yes")


def test_saving_the_edit_form_untouched_changes_nothing(client, secretariat):
    """The form as rendered, posted back as it is: no change, no dates lost, the summary kept."""
    import datetime
    import html as html_module
    import re

    action = ActionFactory(
        start_date=datetime.date(2025, 12, 1), target_date=datetime.date(2028, 12, 1), public_summary="Kept."
    )
    client.force_login(secretariat)
    url = reverse("priorities:action-edit", args=[action.pk])
    html = client.get(url).content.decode()
    form = dict(re.findall(r'<input[^>]*name="(\w+)" value="([^"]*)"', html))
    for name in ("public_summary", "description"):
        form[name] = html_module.unescape(
            re.search(rf'<textarea[^>]*name="{name}"[^>]*>\s*(.*?)</textarea>', html, re.S)[1]
        )
    form["objective"] = re.search(r'<option value="(\d+)" selected>', html)[1]
    assert form["start_date"] == "2025-12-01"
    response = client.post(url, form, follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert not ActionChange.objects.filter(action=action).exclude(field="created").exists()
