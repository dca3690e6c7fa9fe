"""Django's admin answers what it cannot use with a 400, never a 500 (its own code paths included)."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import ActionFactory, SecretariatFactory


@pytest.fixture
def admin_client(db):
    client = Client(raise_request_exception=False)
    client.force_login(SecretariatFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("query", ["_to_field=", "_to_field=id&_to_field="])
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_an_empty_lookup_field_is_a_400(admin_client, query, view):
    action = ActionFactory()
    response = admin_client.get(reverse(f"admin:priorities_action_{view}", args=[action.pk]) + f"?{query}")
    assert response.status_code == 400
    assert "look the record up by no field" in response.content.decode()


def test_an_empty_lookup_field_in_a_form_is_a_400_and_changes_nothing(admin_client):
    action = ActionFactory(title="Before")
    url = reverse("admin:priorities_action_change", args=[action.pk])
    assert admin_client.post(url, {"_to_field": "", "title": "After"}).status_code == 400
    action.refresh_from_db()
    assert action.title == "Before"


@pytest.mark.parametrize("value", ["99999999999999999999999", "-99999999999999999999"])
def test_a_date_drill_down_out_of_range_is_a_400(admin_client, value):
    response = admin_client.get(reverse("admin:priorities_progressupdate_changelist") + f"?created_at__year={value}")
    assert response.status_code == 400
    assert "out of range" in response.content.decode()
    # Django answers impossible but small ones itself (back to the list with ?e=1).
    assert admin_client.get(
        reverse("admin:priorities_progressupdate_changelist") + "?created_at__year=99999"
    ).status_code in (200, 302)


def test_other_pages_ignore_the_admin_s_parameters(db, secretariat):
    client = Client()
    client.force_login(secretariat)
    assert client.get(reverse("priorities:action-list") + "?_to_field=&created_at__year=" + "9" * 30).status_code == 200
