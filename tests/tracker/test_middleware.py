from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.urls import reverse


@pytest.fixture
def signed_in(client, commissioner):
    client.force_login(commissioner)
    return client


def assert_unavailable(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "The service is temporarily unavailable" in html
    assert "Traceback" not in html and "OperationalError" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_database_error_in_a_view_is_a_503(signed_in, error):
    with mock.patch("overview.page_data.status_counts", side_effect=error("server closed the connection")):
        response = signed_in.get(reverse("overview:dashboard"))
    assert_unavailable(response)


@pytest.mark.django_db
def test_the_drivers_own_errors_are_a_503_too(signed_in):
    # Django leaves some driver errors unwrapped, e.g. closing a cursor after the server went away.
    error = connection.Database.OperationalError("server closed the connection unexpectedly")
    with mock.patch("overview.page_data.status_counts", side_effect=error):
        response = signed_in.get(reverse("overview:dashboard"))
    assert_unavailable(response)


@pytest.mark.django_db
def test_a_refused_connection_is_a_503_and_the_next_request_recovers(signed_in):
    # The first query of a request is the session's, in a middleware: Django's 500 handler turns the
    # outage into a 503 there (the client must not re-raise, as a real server would not).
    signed_in.raise_request_exception = False
    refused = OperationalError("could not connect to server: Connection refused")
    with mock.patch.object(connection, "ensure_connection", side_effect=refused):
        response = signed_in.get(reverse("priorities:action-list"))
    assert_unavailable(response)
    assert signed_in.get(reverse("priorities:action-list")).status_code == 200


@pytest.mark.django_db
def test_other_errors_in_a_middleware_are_still_500s(signed_in):
    signed_in.raise_request_exception = False
    with mock.patch("tracker.security.SessionLifetimeMiddleware.__call__", side_effect=ValueError("a bug")):
        response = signed_in.get(reverse("priorities:action-list"))
    assert response.status_code == 500


@pytest.mark.django_db
def test_other_errors_are_not_hidden_as_outages(signed_in):
    with mock.patch("overview.page_data.status_counts", side_effect=ValueError("a bug")):
        with pytest.raises(ValueError, match="a bug"):
            signed_in.get(reverse("overview:dashboard"))
