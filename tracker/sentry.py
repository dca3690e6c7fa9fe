"""Optional error reports to Sentry (SENTRY_DSN), with personal data removed before anything leaves the server.

Sentry's own options do the first part: its `data_collection` (what `send_default_pii=False` was before
sentry-sdk 2.75) collects no user, cookies, client address, query values, request bodies, SQL parameters,
task arguments or local variables in stack frames. Then
scrub_event, run on every event, removes what could still name a person or repeat what they wrote:

- the request keeps its method, the URL *pattern* (`/accounts/invitation/<str:token>/`, never the token or
  an id) and a few harmless headers; no body, cookies, query values or other headers;
- no user, no `extra` but numbers, no breadcrumb data, no log-message arguments;
- every remaining text (exception messages, log messages, breadcrumbs) has email addresses, quoted
  values, `name=value` values and bracketed key values replaced by "[Filtered]", and also every value
  the current request posted and the signed-in person's username, names and email wherever they appear.

The event keeps what an engineer needs: the exception type, the stack (file, line, function and our
source lines), the log message's wording, the URL pattern, the release and the request id (a tag).
"""

import re
from urllib.parse import urlsplit, urlunsplit

from django.urls import Resolver404, resolve

from .logs import current_request, current_request_id

FILTERED = "[Filtered]"
# Headers that say nothing about who is asking; every other header (Cookie, Authorization, Referer,
# X-Forwarded-For ...) is removed.
SAFE_HEADERS = {"accept", "accept-encoding", "accept-language", "content-length", "content-type", "hx-request"}
EXTRA_KEPT = {"status_code"}
_EMAIL = re.compile(r"[^\s@<>()\[\]\"',;:]+@[^\s@<>()\[\]\"',;:]+\.[A-Za-z]{2,}")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|‘[^’\n]*’|“[^”\n]*”")
_KEY_VALUE = re.compile(r"\b([A-Za-z_][\w.-]*)=(?!\[Filtered\])(\([^)]*\)|[^\s,;)]+)")
# A stack frame's file, function and source lines: our code, read from disk, kept as they are.
CODE_KEYS = {"abs_path", "filename", "module", "function", "pre_context", "context_line", "post_context"}
# The shortest posted value or name replaced wherever it appears (shorter ones would hit ordinary words).
MIN_PERSONAL_LENGTH = 3


def init(dsn, *, environment, release, traces_sample_rate, **options):
    """Start reporting errors (settings.py calls this when SENTRY_DSN is set); `options` go to sentry_sdk.init."""
    # Only an installation that reports to Sentry loads the SDK and its integrations (settings import this module).
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration  # the same: only with SENTRY_DSN
    from sentry_sdk.integrations.django import DjangoIntegration  # the same: only with SENTRY_DSN

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration(transaction_style="url"), CeleryIntegration()],
        # What `send_default_pii=False` meant, in the form sentry-sdk 2.75 asks for (it deprecates that flag),
        # and stricter: no user, cookies, query values, bodies, SQL parameters, task arguments or local variables.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "allowlist", "terms": sorted(SAFE_HEADERS)}},
            "http_bodies": [],
            "url_query_params": {"mode": "off"},
            "database_query_data": False,
            "queues": False,
            "gen_ai": {"inputs": False, "outputs": False},
            "stack_frame_variables": False,
        },
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        **options,
    )


def scrub_text(text, personal=()):
    """`text` without email addresses, quoted values, `name=value` values or any of the `personal` strings."""
    for value in personal:
        text = text.replace(value, FILTERED)
    text = _EMAIL.sub(FILTERED, text)
    text = _QUOTED.sub(FILTERED, text)
    return _KEY_VALUE.sub(lambda match: f"{match.group(1)}={FILTERED}", text)


def _scrub(value, personal):
    if isinstance(value, str):
        return scrub_text(value, personal)
    if isinstance(value, dict):
        return {key: item if key in CODE_KEYS else _scrub(item, personal) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, personal) for item in value]
    return value


def _personal_values(request):
    """What the current request posted and who is signed in: strings to remove wherever they appear.

    Only what Django has already read: nothing here queries the database or reads the body.
    """
    if request is None:
        return []
    values: set[str] = set()
    posted = getattr(request, "_post", None)
    if posted is not None:
        for _name, items in posted.lists():
            values.update(item.strip() for item in items)
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is not None and getattr(wrapped, "is_authenticated", False) and hasattr(wrapped, "get_full_name"):
        values.update([wrapped.get_username(), wrapped.email, wrapped.first_name, wrapped.last_name])
        values.add(wrapped.get_full_name())
    # Longest first, so a full name goes before the first name inside it.
    return sorted((value for value in values if len(value) >= MIN_PERSONAL_LENGTH), key=len, reverse=True)


def _url_pattern(url):
    """The URL with its path replaced by the URL pattern that served it, and no query string or fragment."""
    parts = urlsplit(url)
    try:
        route = "/" + resolve(parts.path).route
    except Resolver404:
        route = "/<unknown>"
    return urlunsplit((parts.scheme, parts.netloc, route, "", ""))


def _scrub_request(request_data):
    kept = {"method": request_data.get("method")}
    if request_data.get("url"):
        kept["url"] = _url_pattern(request_data["url"])
    headers = request_data.get("headers") or {}
    kept["headers"] = {name: value for name, value in headers.items() if name.lower() in SAFE_HEADERS}
    if request_data.get("query_string"):
        kept["query_string"] = FILTERED
    return kept


def _drop_frame_variables(container):
    for frame in (container.get("stacktrace") or {}).get("frames") or []:
        frame.pop("vars", None)


def scrub_event(event, hint):
    """Sentry's before_send: the event without personal data (see the module's docstring)."""
    event.pop("user", None)
    if "request" in event:
        event["request"] = _scrub_request(event["request"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        logentry.pop("params", None)
    extra = event.get("extra") or {}
    job = extra.get("celery-job")
    event["extra"] = {key: value for key, value in extra.items() if key in EXTRA_KEPT and isinstance(value, int)}
    if isinstance(job, dict) and job.get("task_name"):
        event["extra"]["celery-task"] = job["task_name"]
    for exception in (event.get("exception") or {}).get("values") or []:
        _drop_frame_variables(exception)
    for thread in (event.get("threads") or {}).get("values") or []:
        _drop_frame_variables(thread)
    breadcrumbs = event.get("breadcrumbs")
    if isinstance(breadcrumbs, dict):
        breadcrumbs["values"] = [_breadcrumb_without_data(crumb) for crumb in breadcrumbs.get("values") or []]
    for span in event.get("spans") or []:
        span.pop("data", None)
    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return _scrub(event, _personal_values(current_request()))


def _breadcrumb_without_data(crumb):
    crumb = dict(crumb)
    crumb.pop("data", None)
    return crumb


def scrub_breadcrumb(crumb, hint):
    """Sentry's before_breadcrumb: kept without its data (an SQL query's parameters, a log's arguments)."""
    return _scrub(_breadcrumb_without_data(crumb), _personal_values(current_request()))
