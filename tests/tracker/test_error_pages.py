"""Refusals and missing pages look like the product: in production, in `make run` (DEBUG on), in the admin."""

import pytest
from django.urls import include, path, reverse

from tests.factories import ActionPartnerFactory

PRODUCT_404 = '<h1 class="govuk-heading-l">Page not found</h1>'
PRODUCT_403 = '<h1 class="govuk-heading-l">You cannot do that</h1>'


@pytest.fixture
def debug_on(settings):
    # `make run` runs with DJANGO_DEBUG=1 (bin/dev-server); pytest-django turns DEBUG off by default.
    settings.DEBUG = True


@pytest.mark.parametrize("debug", [False, True], ids=["production", "make-run"])
def test_a_partner_opening_another_organisations_action_sees_the_products_404(
    client, partner_b, org_a, settings, debug
):
    settings.DEBUG = debug
    action = ActionPartnerFactory(organisation=org_a).action
    client.force_login(partner_b)
    response = client.get(action.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 404
    assert PRODUCT_404 in html
    assert "URLconf" not in html and "priorities:action-detail" not in html  # not the technical page
    assert partner_b.organisation.display_name in html  # the product's header, signed in


@pytest.mark.parametrize("debug", [False, True], ids=["production", "make-run"])
def test_an_address_that_matches_no_page_is_the_products_404(client, partner_a, settings, debug):
    settings.DEBUG = debug
    for who in (None, partner_a):
        if who:
            client.force_login(who)
        response = client.get("/no-such-page/")
        assert response.status_code == 404
        html = response.content.decode()
        assert PRODUCT_404 in html and "URLconf" not in html and "Using the URLconf" not in html


def test_without_a_slash_the_address_is_still_corrected_under_debug(client, secretariat, debug_on):
    client.force_login(secretariat)
    response = client.get("/organisations")
    assert response.status_code == 301 and response["Location"] == "/organisations/"


def test_a_refusal_under_debug_is_the_products_403(client, partner_a, debug_on):
    client.force_login(partner_a)
    response = client.get(reverse("overview:dashboard"))
    assert response.status_code == 403 and PRODUCT_403 in response.content.decode()


def _broken(request):
    raise RuntimeError("a bug the developer needs to see")


urlpatterns = [path("broken/", _broken), path("", include("tracker.urls"))]


@pytest.mark.urls(__name__)
def test_a_server_error_under_debug_keeps_the_developers_traceback(client, secretariat, debug_on):
    """Why `make run` keeps DEBUG on rather than showing product pages for everything: a 500's traceback."""
    client.raise_request_exception = False
    client.force_login(secretariat)
    response = client.get("/broken/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "RuntimeError" in html and "a bug the developer needs to see" in html and "Traceback" in html


@pytest.mark.parametrize("who", ["partner_a", "commissioner", "secretariat"])
@pytest.mark.parametrize("path", ["/admin/", "/admin/tracker/user/", "/admin/login/?next=/admin/"])
def test_a_signed_in_person_without_admin_rights_gets_the_products_403_from_the_admin(client, request, who, path):
    client.force_login(request.getfixturevalue(who))
    response = client.get(path, follow=True)
    assert response.status_code == 403
    assert PRODUCT_403 in response.content.decode()
    assert len(response.redirect_chain) <= 2  # no loop between the admin and the sign-in page


def test_anonymous_people_still_sign_in_before_the_admin(client, db):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("login") + "?next=/admin/"
    assert response.status_code == 200


def test_the_secretariat_with_admin_rights_reaches_the_admin(client, secretariat):
    secretariat.is_staff = True
    secretariat.save()
    client.force_login(secretariat)
    assert client.get("/admin/").status_code == 200
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
