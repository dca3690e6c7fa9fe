from unittest import mock

import pytest
from django.urls import reverse

from tracker.models import User


@pytest.mark.django_db
def test_login_page_has_labelled_fields(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label class="govuk-label govuk-label--s" for="id_username">Username</label>' in html
    assert '<label class="govuk-label govuk-label--s" for="id_password">Password</label>' in html
    assert "csrfmiddlewaretoken" in html


@pytest.mark.django_db
def test_wrong_password_shows_an_error_summary(client, secretariat):
    response = client.post(reverse("login"), {"username": "sec", "password": "wrong"})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_sign_in_and_out(client, secretariat):
    response = client.post(reverse("login"), {"username": "sec", "password": "correct horse battery"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(secretariat.pk)
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_signing_out_says_so_once_on_the_sign_in_page(client, partner_a):
    client.force_login(partner_a)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    html = response.content.decode()
    assert html.count("You have signed out.") == 1 and "_auth_user_id" not in client.session
    assert "You have signed out." not in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_home_sends_anonymous_users_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_partners_home_is_the_root(client, partner_a):
    client.force_login(partner_a)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your actions" in html
    assert "<title>Organisation A – Plan Tracker</title>" in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", [User.Role.SECRETARIAT, User.Role.COMMISSIONER])
def test_home_sends_staff_to_a_real_page(client, role, org_a):
    user = User.objects.create(username="u", role=role, organisation=org_a if role == "partner" else None)
    client.force_login(user)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain, "home should redirect to the role's page"
    assert response.redirect_chain[-1][0] != "/"


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    with mock.patch("tracker.health._broker_ok", return_value=True):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_names_what_is_down(client):
    with mock.patch("tracker.health._broker_ok", return_value=False):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "cache": "ok", "broker": "down"}


@pytest.mark.django_db
def test_healthz_database_down(client):
    with (
        mock.patch("tracker.health._broker_ok", return_value=True),
        mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor", side_effect=Exception("down")),
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down"


@pytest.mark.django_db
def test_healthz_with_the_embedded_broker_answers(client, settings):
    # The default filesystem:// broker needs no server: the real check must pass.
    response = client.get("/healthz")
    assert response.json()["broker"] == "ok"


def test_organisations_sort_ignoring_case_and_punctuation(client, secretariat):
    from tests.factories import OrganisationFactory

    for name in ["zeta Trust", "(UN) Office", "Alpha", "d'Arcy Foundation", "Beta-Gamma", "beta Delta", "Charlie."]:
        OrganisationFactory(name=name)
    expected = ["Alpha", "beta Delta", "Beta-Gamma", "Charlie.", "d'Arcy Foundation", "(UN) Office", "zeta Trust"]
    from tracker.models import Organisation

    assert [o.name for o in Organisation.objects.all()] == expected
    client.force_login(secretariat)
    html = client.get(reverse("organisation-list")).content.decode()
    positions = [html.index(name.replace("'", "&#x27;")) for name in expected]
    assert positions == sorted(positions)


def test_every_page_has_a_favicon(client, secretariat):
    from django.contrib.staticfiles import finders

    client.force_login(secretariat)
    html = client.get(reverse("organisation-list")).content.decode()
    assert '<link rel="icon" href="/static/images/favicon.svg" type="image/svg+xml">' in html
    assert finders.find("images/favicon.svg")
