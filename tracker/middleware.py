"""When the database is unreachable, answer 503 "temporarily unavailable" instead of a 500 error page."""

import logging

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def outage_errors():
    """Django's and the database drivers' connection errors (Django does not wrap them everywhere)."""
    errors = {OperationalError, InterfaceError}
    for alias in connections:
        driver = connections[alias].Database
        errors.update({driver.OperationalError, driver.InterfaceError})
    return tuple(errors)


def unavailable_response():
    # Rendered without the request: context processors would query the database again.
    response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A lost or refused database connection is an outage, not a bug: 503 with Retry-After, logged once.

    Django reconnects by itself on the next request (CONN_MAX_AGE with conn_health_checks), so the
    web server needs no restart once the database is back.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # Django wraps driver errors in its own classes, but not everywhere (closing a cursor after the
        # server went away raises psycopg2's own OperationalError): catch the drivers' classes too.
        self.outage_errors = outage_errors()

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, self.outage_errors):
            return None
        logger.error("Database unavailable for %s %s: %s", request.method, request.path, exception)
        return unavailable_response()
