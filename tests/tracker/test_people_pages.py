"""The people pages: everyone with an account (filters, 50 a page) and one person's page with its sections."""

import pytest
from django.urls import reverse

from audit.services import access_event_record
from privacy.models import Anonymisation, RemainingMention, RetentionHold
from tests.factories import CommissionerFactory, OrganisationFactory, PartnerFactory, SecretariatFactory
from tracker.access import Kind
from tracker.services import user_deactivate


@pytest.fixture
def secretariat_client(client, db):
    secretariat = SecretariatFactory(first_name="Sam", last_name="Secretary")
    client.force_login(secretariat)
    client.secretariat = secretariat
    return client


def test_the_list_filters_by_name_role_organisation_and_state(secretariat_client):
    europol = OrganisationFactory(name="Europol")
    zelda = PartnerFactory(first_name="Zelda", last_name="Q", organisation=europol)
    left = PartnerFactory(first_name="Lee", last_name="Leaver", organisation=europol)
    user_deactivate(user=left, by=secretariat_client.secretariat)
    CommissionerFactory(first_name="Cora", last_name="Commissioner")
    cases = [
        ({"q": "zel"}, [zelda]),
        ({"q": zelda.email}, [zelda]),
        ({"organisation": europol.pk}, [zelda, left]),
        ({"active": "0"}, [left]),
        ({"role": "commissioner"}, ["Cora Commissioner"]),
    ]
    for query, people in cases:
        shown = [str(p) for p in secretariat_client.get(reverse("person-list"), query).context["people"]]
        assert shown == [str(p) for p in people], query


def test_the_list_runs_a_fixed_number_of_queries(secretariat_client, django_assert_max_num_queries):
    for count in (2, 60):
        PartnerFactory.create_batch(count)
        # session, user, navigation count, people counted, the page of people, the organisations to filter by
        with django_assert_max_num_queries(6):
            response = secretariat_client.get(reverse("person-list"))
        assert response.status_code == 200
    assert len(response.context["people"]) == 50


def test_a_persons_page_shows_their_account_their_data_retention_and_access(secretariat_client):
    zelda = PartnerFactory(first_name="Zelda", last_name="Q")
    for index in range(7):
        access_event_record(user=zelda, kind=Kind.DOWNLOAD, what=f"file-{index}.csv", rows=index)
    page = secretariat_client.get(reverse("person-detail", args=[zelda.pk])).content.decode()
    assert zelda.email in page and zelda.organisation.name in page
    assert reverse("privacy:person-export", args=[zelda.pk]) in page
    assert "is active: deactivate them first" in page  # so no Anonymise button yet
    assert "Hold their account" in page
    assert page.count("file-") == 5 and f"?user={zelda.pk}" in page


def test_a_persons_page_runs_a_fixed_number_of_queries(secretariat_client, django_assert_max_num_queries):
    zelda = PartnerFactory()

    def states():
        yield "active"
        user_deactivate(user=zelda, by=secretariat_client.secretariat)
        yield "deactivated"
        RetentionHold.objects.create(person=zelda, reason="A case.", set_by=secretariat_client.secretariat)
        yield "held"
        RetentionHold.objects.all().delete()
        anonymisation = Anonymisation.objects.create(person=zelda, via="secretariat")
        RemainingMention.objects.create(anonymisation=anonymisation, model="tracker.User", object_pk="1", field="email")
        yield "anonymised"

    for state in states():
        for index in range(40):
            access_event_record(user=zelda, kind=Kind.DOWNLOAD, what=f"file-{index}.csv")
        # session, user, navigation count, the person, their hold, their anonymisation, latest access, downloads
        with django_assert_max_num_queries(8):
            assert secretariat_client.get(reverse("person-detail", args=[zelda.pk])).status_code == 200, state


def test_holding_an_account_needs_a_reason_and_stops_anonymising(secretariat_client):
    zelda = PartnerFactory()
    user_deactivate(user=zelda, by=secretariat_client.secretariat)
    hold = reverse("privacy:retention-hold", args=[zelda.pk])
    response = secretariat_client.post(hold, {"reason": "  "})
    assert response.status_code == 400 and "Say why their account is held" in response.content.decode()
    assert secretariat_client.post(hold, {"reason": "x" * 1001}).status_code == 400
    assert not RetentionHold.objects.exists()
    assert secretariat_client.post(hold, {"reason": "Subject access request of 3 May."}).status_code == 302
    page = secretariat_client.get(reverse("person-detail", args=[zelda.pk])).content.decode()
    assert "Subject access request of 3 May." in page and "release the hold first" in page
    assert secretariat_client.post(hold, {"reason": "Again"}).status_code == 400  # already held
    assert secretariat_client.post(hold, {"release": "1"}).status_code == 302
    hold_row = RetentionHold.objects.get()
    assert hold_row.released_by == secretariat_client.secretariat and hold_row.released_at is not None
    page = secretariat_client.get(reverse("person-detail", args=[zelda.pk])).content.decode()
    assert reverse("privacy:person-anonymise", args=[zelda.pk]) in page


def test_deactivating_records_when(secretariat_client):
    zelda = PartnerFactory()
    user_deactivate(user=zelda, by=secretariat_client.secretariat)
    zelda.refresh_from_db()
    assert zelda.deactivated_at is not None


def test_unticking_active_in_the_admin_records_when_and_ticking_it_clears_it(client, db):
    admin = SecretariatFactory(is_staff=True, is_superuser=True)
    zelda = PartnerFactory()
    client.force_login(admin)
    url = reverse("admin:tracker_user_change", args=[zelda.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update({"organisation": zelda.organisation_id, "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00"})
    data.pop("last_login", None)
    data.pop("groups", None)
    data.pop("user_permissions", None)
    data.pop("is_active")
    assert client.post(url, data).status_code == 302
    zelda.refresh_from_db()
    assert not zelda.is_active and zelda.deactivated_at is not None
    assert client.post(url, {**data, "is_active": "on"}).status_code == 302
    zelda.refresh_from_db()
    assert zelda.is_active and zelda.deactivated_at is None
