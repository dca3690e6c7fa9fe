"""When the database is unreachable, answer 503 "temporarily unavailable" instead of a 500 error page."""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import Http404, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.views.defaults import page_not_found

from .health import healthz
from .metrics import metrics_view
from .security import loggable

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def outage_errors():
    """Django's and the database drivers' connection errors (Django does not wrap them everywhere)."""
    errors = {OperationalError, InterfaceError}
    for alias in connections:
        driver = connections[alias].Database  # type: ignore[attr-defined]  # the driver module: not in the stubs
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
        logger.error("Database unavailable for %s %s: %s", request.method, loggable(request.path), exception)
        return unavailable_response()


MAX_QUERY_VALUE_LENGTH = 2000
TO_FIELD_VAR = "_to_field"  # django.contrib.admin.options.TO_FIELD_VAR
DATE_PARTS = ("__year", "__month", "__day")
_admin: dict[str, str] = {}


def _admin_prefix():
    """Where Django's admin lives ("/admin/"), or a path no request has when the URLconf has no admin."""
    if "prefix" not in _admin:
        try:
            _admin["prefix"] = reverse("admin:index")
        except NoReverseMatch:
            _admin["prefix"] = "\x00"
    return _admin["prefix"]


def request_problem(request):
    """Why a request cannot be handled at all, or None: checked before any view or form sees it."""
    for source in (request.GET, request.POST):
        for name, values in source.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                # PostgreSQL cannot store or compare text with NUL, and no person types one.
                return "The request held a NUL character, which no form or filter accepts. Nothing was changed."
    if request.path_info.startswith(_admin_prefix()):
        for source in (request.GET, request.POST):
            if "" in source.getlist(TO_FIELD_VAR):
                # Django's admin looks the record up by a field named "" and fails with a 500 (it refuses
                # every other name it does not allow with a 400 of its own).
                return "The address asked the admin to look the record up by no field at all. Nothing was changed."
        for name, values in request.GET.lists():
            # A list's date drill-down (date_hierarchy): Django's admin turns a number too large for a date
            # into a 500 (OverflowError), where it answers any other impossible date itself.
            if name.endswith(DATE_PARTS) and any(len(value.strip()) > 9 for value in values):
                return "A date in the address was out of range: years, months and days are small numbers."
    for name, values in request.GET.lists():
        if len(name) > MAX_QUERY_VALUE_LENGTH or any(len(value) > MAX_QUERY_VALUE_LENGTH for value in values):
            return f"The address was too long: filters and searches take at most {MAX_QUERY_VALUE_LENGTH:,} characters."
    return None


class HostileInputMiddleware:
    """Answers 400 with a plain message to what no page accepts: NUL characters, huge query values.

    One guard instead of every filter, admin list and form learning that PostgreSQL refuses NUL in
    text (a 500 otherwise) and that SQLite refuses very long LIKE patterns (a false "unavailable").
    Placed after the authentication middleware, so the message page knows who is signed in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            problem = request_problem(request)
        except (MultiPartParserError, UnicodeDecodeError):
            problem = "The form data could not be read. Nothing was changed."
        if problem:
            return render(request, "400.html", {"problem": problem}, status=400)
        return self.get_response(request)


class NoStoreMiddleware:
    """Signed-in pages and every download say `Cache-Control: no-store`: private data never sits in a shared cache.

    A response that set `Cache-Control: public` itself (a public page with its own caching) is left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "public" in response.get("Cache-Control", ""):
            return response
        user = getattr(request, "user", None)
        download = response.get("Content-Disposition", "").startswith("attachment")
        if download or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response


class ProductNotFoundPageMiddleware:
    """With DEBUG on (`make run`), a missing page is still the product's 404 page, not Django's technical one.

    Django answers Http404 and unmatched addresses with its technical page (every URL pattern) whenever
    DEBUG is on, and offers no hook to change that. The demo keeps DEBUG on so that a 500 still shows the
    developer the traceback with its local variables; what a person is refused or cannot find must look
    as it will in production. (403 needs nothing: Django renders `403.html` whatever DEBUG says.)
    With DEBUG off this does nothing: Django's own handler renders the same template.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # No view was resolved, so the 404 is Django's "no URL pattern matched", which DEBUG makes technical.
        if settings.DEBUG and response.status_code == 404 and request.resolver_match is None:
            return page_not_found(request, Http404())
        return response

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None


class MachineEndpointsMiddleware:
    """/healthz and /metrics are answered here, before the host check and the HTTPS redirect.

    They are asked for by machines inside the network (an orchestrator's health check, Prometheus) by a
    container name or address over plain HTTP, which DJANGO_ALLOWED_HOSTS and the redirect would refuse.
    Neither builds a URL from the Host header, so the header cannot poison anything; /healthz tells
    nothing sensitive, and /metrics still needs its token or an allowed network (tracker/metrics.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.views = None

    def _views(self):
        views = {}
        for name, view in (("healthz", healthz), ("metrics", metrics_view)):
            try:
                views[reverse(name)] = view
            except NoReverseMatch:  # a URLconf without it (a test's or a benchmark's)
                pass
        return views

    def __call__(self, request):
        if self.views is None:
            self.views = self._views()
        view = self.views.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
