"""The public pages and open data: no sign-in, no session, no cookies, the same bytes for everyone.

Every response comes whole from the fragment cache (tracker/caching.py), keyed by the data generation
and the page alone: never by the user, the session or the query string, which these views never read.
So a signed-in person's visit, or any query string, cannot change what anyone else is served.
Publishing, unpublishing or any change to the data moves the generation: the process that made the
change serves it at once, every other process within PUBLIC_GENERATION_SECONDS (the generation is
read at most that often, so a cached public page costs no query). Each response carries
`Cache-Control: public, max-age=PUBLIC_CACHE_SECONDS` and an ETag (a hash of the body), and answers a
matching If-None-Match with 304.
"""

import hashlib
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_safe

from tracker.caching import cached_fragment, recent_generation
from tracker.spreadsheets import csv_text

from . import data, opendata

SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "plan.schema.json"
HTML = "text/html; charset=utf-8"


def _key(name, *vary):
    # Plain string formatting: this runs on every public request, and the parts are short and known.
    shared, local = recent_generation(settings.PUBLIC_GENERATION_SECONDS)
    return ":".join(["public", name, str(shared), str(local), *map(str, vary)])


def _entry(status, body, content_type):
    body = body.encode() if isinstance(body, str) else body
    return {
        "status": status,
        "body": body,
        "content_type": content_type,
        "etag": f'"{hashlib.sha256(body).hexdigest()[:32]}"',
    }


def _page(template, context):
    """A public page, rendered without the request: no context processor, so no user, session or CSRF token."""
    return render_to_string(template, {**context, **_site()})


def _site():
    return {"quick_exit_url": settings.PUBLIC_QUICK_EXIT_URL, "licence": settings.PUBLIC_DATA_LICENCE}


def _not_found():
    return _entry(404, _page("public/not_found.html", {}), HTML)


def _respond(request, name, build, *vary):
    """The cached entry for this page (built by `build()` on a miss), as a response with public caching headers."""
    entry = cached_fragment(_key(name, *vary), build)
    if entry["status"] != 200:
        response = HttpResponse(entry["body"], status=entry["status"], content_type=entry["content_type"])
        # Not public yet (or any more): let no cache keep the answer, so publishing shows at once.
        response["Cache-Control"] = "no-cache"
        return response
    cache_control = f"public, max-age={settings.PUBLIC_CACHE_SECONDS}"
    if "HTTP_IF_NONE_MATCH" in request.META:
        not_modified = get_conditional_response(request, etag=entry["etag"])
        if isinstance(not_modified, HttpResponseNotModified):
            not_modified["ETag"] = entry["etag"]
            not_modified["Cache-Control"] = cache_control
            return not_modified
    response = HttpResponse(entry["body"], content_type=entry["content_type"])
    response["ETag"] = entry["etag"]
    response["Cache-Control"] = cache_control
    return response


def _html(template, found, **extra):
    if found is None:
        return _not_found()
    return _entry(200, _page(template, {**found, **extra, "last_updated_at": data.as_of(found["last_updated"])}), HTML)


@require_safe
def plan(request):
    return _respond(request, "plan", lambda: _html("public/plan.html", data.overview()))


@require_safe
def objective(request, pk, page=1):
    return _respond(
        request, "objective", lambda: _html("public/objective.html", data.objective_page(pk, page)), pk, page
    )


@require_safe
def action(request, pk):
    return _respond(request, "action", lambda: _html("public/action.html", data.action_page(pk)), pk)


@require_safe
def indicator(request, pk):
    def build():
        found = data.indicator_page(pk)
        if found is None:
            return _not_found()
        found["charts"] = opendata.charts(found.pop("measures"))
        return _html("public/indicator.html", found)

    return _respond(request, "indicator", build, pk)


def _published_or_404(build, content_type):
    def wrapped():
        document = data.open_data()
        if document is None:
            return _not_found()
        return _entry(200, build(document), content_type)

    return wrapped


@require_safe
def plan_json(request):
    return _respond(request, "plan.json", _published_or_404(opendata.json_text, "application/json"))


@require_safe
def plan_csv(request):
    def build(document):
        return csv_text(opendata.csv_rows(document))

    response = _respond(request, "plan.csv", _published_or_404(build, "text/csv; charset=utf-8"))
    if response.status_code == 200:
        response["Content-Disposition"] = 'attachment; filename="plan.csv"'
    return response


@require_safe
def plan_schema(request):
    # The schema describes the format, not the data: it is served whether or not a plan is published.
    return _respond(
        request, "plan.schema.json", lambda: _entry(200, SCHEMA_PATH.read_bytes(), "application/schema+json")
    )
