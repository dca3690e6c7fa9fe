import pytest
from django.db import IntegrityError, transaction

from tests.factories import OrganisationFactory
from tracker.models import User


@pytest.mark.django_db
def test_partner_without_organisation_is_refused_by_the_database():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="orphan", role=User.Role.PARTNER, organisation=None)
    assert not User.objects.filter(username="orphan").exists()


@pytest.mark.django_db
def test_partner_with_organisation_and_staff_without_are_accepted():
    org = OrganisationFactory()
    User.objects.create(username="p", role=User.Role.PARTNER, organisation=org)
    User.objects.create(username="s", role=User.Role.SECRETARIAT)
    assert User.objects.count() == 2


@pytest.mark.django_db
def test_createsuperuser_gets_the_secretariat_role():
    user = User.objects.create_superuser("admin", "admin@example.org", "a long enough password")
    assert user.role == User.Role.SECRETARIAT
