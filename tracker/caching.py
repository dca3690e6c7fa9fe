"""Rendered fragments of the register and the dashboard, cached until the data they show changes.

A fragment's key holds the *data generation*: a counter that goes up whenever a watched model (the plan,
its actions, partners, updates, submissions, indicators, organisations and users) is saved or deleted.

- The shared part is one database row (`DataGeneration`), incremented when the writing transaction
  commits, so every web process sees a change as soon as it is visible in the database, and never
  caches a page under a generation whose data it could not yet read.
- The local part counts this process's own writes at once, even inside a transaction, so a process
  always reads its own writes (as its database connection does).

Bulk writes that send no signals (`bulk_create`, `QuerySet.update`) call `data_changed()` themselves, and
`choices_changed()` too when they write rows of CHOICE_MODELS.
A fragment is also keyed by who it is for (role and organisation: partners see only their actions),
the date (overdue and "within the cycle" depend on it) and the request's recognised, cleaned query
(form_vary: junk parameters never make an entry), and it expires after
FRAGMENT_CACHE_SECONDS in any case. A fragment must hold nothing per user or per session: no CSRF
token, no user name, no CSP nonce (tests check the first).

Readers never wait for a re-render after someone else's write (cached_fragment with a FragmentKey):
the last fragment rendered for an audience and query is also kept under a "latest" key without the
generation. After a change, the first request to miss takes a short lock in the cache (`cache.add`,
FRAGMENT_RENDER_LOCK_SECONDS) and is answered with that previous fragment; its process renders the new
one right after the response has gone (request_finished; in a thread, so the process goes on
answering), stores it and lets the lock go (always: finally, and the lock's timeout if the process
dies). Requests arriving meanwhile get the previous
fragment too. With no previous fragment, or outside a request, the page is rendered at once.

Choice lists (the register's filter form) change far less often than the data: they have a generation of
their own, the *choices generation* (a second DataGeneration row), which goes up only when a model that
fills a choice list is saved or deleted (CHOICE_MODELS: plans, priorities, objectives, partnerships,
indicators, organisations, people). choices_fragment_key() keys a fragment on it instead of the data
generation, so recording an update does not render the filter form again.

What is guaranteed:
- Read your writes, for a person: a change a person commits is on their very next page, whichever
  process or host serves it. The shared generation their change produced is kept in their session
  (FreshAfterOwnWritesMiddleware) and no fragment older than it is served to them.
- Read your writes, for a process: a process never serves a previous fragment while it has a write
  not yet committed, nor one older than the writes it committed outside a request (a command, a
  shell, a test).
- Everyone else may see the fragment of the previous generation for as long as one render takes
  (a few hundred ms at 10,000 actions), never longer than FRAGMENT_RENDER_LOCK_SECONDS after the
  first request that found it out of date, unless renders keep failing (each failure is logged).
"""

import dataclasses
import hashlib
import itertools
import json
import logging
import secrets
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.utils import timezone

from . import metrics

logger = logging.getLogger(__name__)

_local_writes = itertools.count(1)
_local_generation = 0
# This process's own writes, for serving previous fragments (see the module's docstring):
# the shared generation its last committed write produced, and whether a write is not yet committed.
_own = {"committed": 0, "pending": False}
# Per thread (one request at a time): renders to run after the response, and what this request committed.
_request = threading.local()
SESSION_KEY = "_fragment_min_generation"

# Models whose rows the cached pages never show: saving them changes nothing there.
UNWATCHED = {
    "priorities.reminder",
    "tracker.invitation",
    "tracker.datageneration",
    "indicators.measurementimport",
}
WATCHED_APPS = {"priorities", "indicators", "tracker"}
# Models whose rows fill choice lists (the register's filters): saving one bumps the choices generation too.
CHOICE_MODELS = {
    "priorities.plan",
    "priorities.priority",
    "priorities.objective",
    "priorities.actionpartner",
    "indicators.successindicator",
    "tracker.organisation",
    "tracker.user",
}
DATA_ROW, CHOICES_ROW = 1, 2  # DataGeneration rows: every watched change; changes to choice lists
_local_choices = itertools.count(1)
_local_choices_generation = 0


def _bump_shared(using=None):
    from .models import DataGeneration

    with connections[using or DEFAULT_DB_ALIAS].cursor() as cursor:
        # One statement that also says which generation this write produced (SQLite >= 3.35, PostgreSQL).
        cursor.execute("UPDATE tracker_datageneration SET value = value + 1 WHERE id = 1 RETURNING value")
        row = cursor.fetchone()
    value = row[0] if row else DataGeneration.objects.get_or_create(pk=1, defaults={"value": 1})[0].value
    _own["pending"] = False
    if getattr(_request, "deferred", None) is None:
        # A write outside a request (a command, a shell, a test): it counts for every page this process serves.
        _own["committed"] = max(_own["committed"], value)
    else:
        # A write in a request counts for the person who made it (their session), on any process.
        _request.committed = max(getattr(_request, "committed", 0), value)


def _bump_choices(using=None):
    from .models import DataGeneration

    with connections[using or DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("UPDATE tracker_datageneration SET value = value + 1 WHERE id = %s", [CHOICES_ROW])
        if cursor.rowcount:
            return
    DataGeneration.objects.get_or_create(pk=CHOICES_ROW, defaults={"value": 1})


def choices_changed(using=None):
    """Record that a choice list's rows changed: at once for this process, for all processes at commit."""
    global _local_choices_generation
    _local_choices_generation = next(_local_choices)
    connection = transaction.get_connection(using)
    if not any(getattr(entry[1], "func", None) is _bump_choices for entry in connection.run_on_commit):
        transaction.on_commit(_BumpChoices(using), using=using, robust=True)


@dataclasses.dataclass
class _BumpChoices:
    """_bump_choices for one database alias, recognisable in run_on_commit (one per transaction)."""

    using: str | None
    func = staticmethod(_bump_choices)

    def __call__(self):
        _bump_choices(self.using)


def data_changed(using=None):
    """Record that watched data changed: at once for this process, for all processes at commit."""
    global _local_generation
    _local_generation = next(_local_writes)
    _own["pending"] = True
    connection = transaction.get_connection(using)
    # One shared increment per transaction, however many rows it writes.
    if not any(getattr(entry[1], "func", None) is _bump_shared for entry in connection.run_on_commit):
        transaction.on_commit(_Bump(using), using=using, robust=True)


@dataclasses.dataclass
class _Bump:
    """_bump_shared for one database alias, recognisable in run_on_commit (one per transaction)."""

    using: str | None
    func = staticmethod(_bump_shared)

    def __call__(self):
        _bump_shared(self.using)


def generation():
    """The current data generation: (committed changes, this process's own writes)."""
    from .models import DataGeneration

    rows = dict(DataGeneration.objects.filter(pk__in=(DATA_ROW, CHOICES_ROW)).values_list("pk", "value"))
    _last_read.choices = rows.get(CHOICES_ROW, 0)
    return (rows.get(DATA_ROW, 0), _local_generation)


# The choices generation read with the last generation() in this thread (one query reads both rows).
_last_read = threading.local()


_recent = {"local": None, "shared": 0, "read_at": float("-inf")}


def recent_generation(max_age):
    """As generation(), but reading the database at most once every `max_age` seconds in this process.

    This process's own writes count at once (the local part); other processes' committed changes
    within `max_age` seconds. For pages that every visitor shares (the public pages), where a query
    per request would cost more than the page.
    """
    now = time.monotonic()
    if _recent["local"] != _local_generation or now - _recent["read_at"] >= max_age:
        _recent["shared"], _recent["local"] = generation()
        _recent["read_at"] = now
    return (_recent["shared"], _recent["local"])


def audience(user):
    """Who a fragment is for: users with the same role and organisation see the same fragment."""
    return (user.role, user.organisation_id if user.role == user.Role.PARTNER else None)


@dataclasses.dataclass(frozen=True)
class FragmentKey:
    """Where a fragment lives: `key` for this generation, `latest` for any generation (same audience,
    day and query), and the oldest shared generation this request may be shown (its person's own writes)."""

    key: str
    latest: str
    generation: int
    min_generation: int


def _read_generations(request):
    """The data and choices generations, read once per request (one query), however many fragments."""
    if not hasattr(request, "_data_generation"):
        request._data_generation = generation()
        request._choices_generation = _last_read.choices


def fragment_key(request, name, *vary):
    """The FragmentKey of fragment `name` for this request's user, today, and `vary` (JSON-serialisable).

    None (no caching) when any part of `vary` is None: see form_vary.
    """
    if any(part is None for part in vary):
        return None
    _read_generations(request)
    parts = [name, audience(request.user), timezone.localdate().isoformat(), *vary]
    digest = hashlib.sha256(json.dumps([request._data_generation, *parts], default=str).encode()).hexdigest()
    latest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
    session = getattr(request, "session", None)
    return FragmentKey(
        key=f"fragment:{name}:{digest}",
        latest=f"fragment-latest:{name}:{latest}",
        generation=request._data_generation[0],
        min_generation=max(
            _own["committed"], committed_in_request(), session.get(SESSION_KEY, 0) if session is not None else 0
        ),
    )


def choices_fragment_key(request, name, *vary):
    """The cache key of fragment `name`, made of choice lists, for this request's audience and `vary`.

    Keyed on the choices generation (see the module's docstring), not the data generation: it is
    rendered again only when a choice list changes. A plain key: no previous fragment is ever served.
    None (no caching) when any part of `vary` is None.
    """
    if any(part is None for part in vary):
        return None
    _read_generations(request)
    choices = (request._choices_generation, _local_choices_generation)
    parts = [name, audience(request.user), choices, *vary]
    return f"fragment:{name}:{hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()}"


def _plain(value):
    if hasattr(value, "_meta"):  # a model instance from a choice field
        return value.pk
    if isinstance(value, list | tuple | set) or hasattr(value, "values_list"):
        return sorted(str(_plain(item)) for item in value)
    if isinstance(value, str):
        return value.strip()
    return value.isoformat() if hasattr(value, "isoformat") else value


def form_vary(request, form, extra=()):
    """A fragment's key part from `form`'s cleaned values, or None: render without caching.

    Only a query the page recognises gets a cache entry: a valid form, each parameter one of the
    form's fields or `extra`, given once (multiple-choice fields excepted). Junk parameters, invalid
    values and repeated ones render afresh and store nothing, so made-up query strings cannot grow
    the cache; the same filters written in another order or spacing share one entry.
    """
    known = set(form.fields) | set(extra)
    for name, values in request.GET.lists():
        multiple = (
            name in form.fields
            and getattr(form.fields[name], "widget", None) is not None
            and (getattr(form.fields[name].widget, "allow_multiple_selected", False))
        )
        if name not in known or (len(values) > 1 and not multiple):
            return None
    if not form.is_valid():
        return None
    cleaned = {name: _plain(value) for name, value in form.cleaned_data.items()}
    return sorted((name, value) for name, value in cleaned.items() if value not in (None, "", [], False))


def cached_fragment(key, render):
    """The HTML cached under `key`, or `render()`'s, stored; a None key renders without caching.

    With a FragmentKey, a request that finds its fragment out of date may be answered with the
    previous one while one process renders the new one (see the module's docstring).
    A cache outage costs speed, never the page."""
    render = metrics.counted_render(key, render)
    if key is None:
        metrics.fragment_lookup(key, "uncached")
        return render()
    plain = not isinstance(key, FragmentKey)
    try:
        html = cache.get(key if plain else key.key)
        if html is not None:
            metrics.fragment_lookup(key, "hit")
            return html
        previous = None if plain else _previous(key)
        token = _take_lock(key) if previous is not None else None
    except Exception:  # a cache server down or unreachable
        logger.warning("fragment cache unavailable: rendering %s", key, exc_info=True)
        metrics.fragment_lookup(key, "unavailable")
        return render()
    if token is not None:
        if getattr(_request, "deferred", None) is not None:
            _request.deferred.append((key, render, token))  # rendered once the response has gone
            metrics.fragment_lookup(key, "previous")
            return previous
        metrics.fragment_lookup(key, "miss")
        return _render_locked(key, render, token)  # outside a request: nobody would render it later
    if previous is not None:
        metrics.fragment_lookup(key, "previous")
        return previous  # another process is rendering the new one
    metrics.fragment_lookup(key, "miss")
    return _store(key, render())


def _store(key, html):
    try:
        if not isinstance(key, FragmentKey):
            cache.set(key, html, settings.FRAGMENT_CACHE_SECONDS)
            return html
        entries = {key.key: html}
        latest = cache.get(key.latest)
        if latest is None or latest["generation"] <= key.generation:  # a slower, older render never replaces it
            entries[key.latest] = {"generation": key.generation, "html": html}
        cache.set_many(entries, settings.FRAGMENT_CACHE_SECONDS)
    except Exception:
        logger.warning("fragment cache unavailable: not storing %s", key, exc_info=True)
    return html


def _previous(key):
    """The last fragment rendered for this audience and query, if this request may be shown it."""
    if _own["pending"]:
        return None  # this process wrote something not yet committed: it must not read older data
    entry = cache.get(key.latest)
    if entry is None or entry["generation"] < key.min_generation:
        return None
    return entry["html"]


def _lock_key(key):
    return f"fragment-lock:{key.latest}"


def _take_lock(key):
    """A token if this process now holds the right to render `key`, else None."""
    token = secrets.token_hex(8)
    return token if cache.add(_lock_key(key), token, settings.FRAGMENT_RENDER_LOCK_SECONDS) else None


def _release(key, token):
    try:
        # Only our own lock: after a timeout another process may hold a new one.
        if cache.get(_lock_key(key)) == token:
            cache.delete(_lock_key(key))
    except Exception:
        logger.warning("fragment cache unavailable: lock %s left to expire", key.latest, exc_info=True)


def _render_locked(key, render, token):
    try:
        return _store(key, render())
    finally:
        _release(key, token)


def request_started(request):
    """Called by FreshAfterOwnWritesMiddleware before the view: renders may be deferred to after the response."""
    _request.deferred = []
    _request.committed = 0
    # No transaction open between requests: an earlier write either committed (and was counted) or was
    # rolled back (and changed nothing).
    if not connections[DEFAULT_DB_ALIAS].in_atomic_block:
        _own["pending"] = False


def committed_in_request():
    """The shared generation the current request's own writes produced (0: none)."""
    return getattr(_request, "committed", 0)


def _render_deferred(**kwargs):
    """After the response: render the fragments whose previous generation was served, then release their locks.

    In a thread of its own (FRAGMENT_RENDER_IN_THREAD), so that the web process goes on answering
    requests meanwhile; tests render at once, inside their transaction."""
    deferred, _request.deferred = getattr(_request, "deferred", None) or [], None
    if not deferred:
        return
    if settings.FRAGMENT_RENDER_IN_THREAD:
        threading.Thread(target=_render_all, args=(deferred, True), name="fragment-render", daemon=True).start()
    else:
        _render_all(deferred, False)


def _render_all(deferred, in_thread):
    try:
        for key, render, token in deferred:
            try:
                _render_locked(key, render, token)
            except Exception:
                logger.exception("rendering fragment %s after the response failed", key.key)
    finally:
        if in_thread:
            connections.close_all()  # this thread's own connections: nothing else will close them


class FreshAfterOwnWritesMiddleware:
    """Keeps, in the person's session, the generation their own writes produced (read-your-writes across
    processes and hosts), and lets fragment renders wait until after the response (tracker/caching.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_started(request)
        response = self.get_response(request)
        committed = committed_in_request()
        session = getattr(request, "session", None)
        if committed and session is not None and session.get(SESSION_KEY, 0) < committed:
            session[SESSION_KEY] = committed
        return response


def _watched(sender):
    meta = getattr(sender, "_meta", None)
    return meta is not None and meta.app_label in WATCHED_APPS and meta.label_lower not in UNWATCHED


def _on_save(sender, instance, update_fields=None, using=None, **kwargs):
    # Signing in writes last_login only: no page shows it.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    data_changed(using)
    if sender._meta.label_lower in CHOICE_MODELS:
        choices_changed(using)


def _on_delete(sender, instance, using=None, **kwargs):
    data_changed(using)
    if sender._meta.label_lower in CHOICE_MODELS:
        choices_changed(using)


def _on_m2m(sender, instance, action, using=None, **kwargs):
    if action.startswith("post_"):
        data_changed(using)


def _on_migrate(sender, using=None, **kwargs):
    data_changed(using)


def connect(apps):
    """Connect the receivers to each watched model (not to every model: that would stop fast deletes)."""
    for model in apps.get_models():
        if _watched(model):
            post_save.connect(_on_save, sender=model, dispatch_uid=f"caching-save-{model._meta.label_lower}")
            post_delete.connect(_on_delete, sender=model, dispatch_uid=f"caching-delete-{model._meta.label_lower}")
            for field in model._meta.local_many_to_many:
                through = field.remote_field.through
                m2m_changed.connect(_on_m2m, sender=through, dispatch_uid=f"caching-m2m-{through._meta.label_lower}")
    post_migrate.connect(_on_migrate, dispatch_uid="caching-migrate")
    request_finished.connect(_render_deferred, dispatch_uid="caching-render-deferred")
