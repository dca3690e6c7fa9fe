"""The audit trails (action changes, indicator changes) can be read in the admin, never written."""

import pytest
from django.urls import reverse

from priorities.models import ActionChange
from tests.factories import ActionFactory, SecretariatFactory


@pytest.mark.parametrize("model", ["priorities_actionchange", "indicators_indicatorchange", "priorities_planchange"])
def test_the_admin_shows_audit_trails_read_only(client, db, model):
    client.force_login(SecretariatFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{model}_add")).status_code == 403


def test_an_action_change_cannot_be_edited_or_deleted_in_the_admin(client, db):
    change = ActionChange.objects.create(action=ActionFactory(), field="status", old_value="a", new_value="b")
    client.force_login(SecretariatFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:priorities_actionchange_change", args=[change.pk])).content.decode()
    assert 'name="_save"' not in page
    assert (
        client.post(reverse("admin:priorities_actionchange_delete", args=[change.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert ActionChange.objects.filter(pk=change.pk).exists()
