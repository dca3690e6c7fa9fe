"""Rendered fragments of the register and the dashboard, cached until the data they show changes.

A fragment's key holds the *data generation*: a counter that goes up whenever a watched model (the plan,
its actions, partners, updates, submissions, indicators, organisations and users) is saved or deleted.

- The shared part is one database row (`DataGeneration`), incremented when the writing transaction
  commits, so every web process sees a change as soon as it is visible in the database, and never
  caches a page under a generation whose data it could not yet read.
- The local part counts this process's own writes at once, even inside a transaction, so a process
  always reads its own writes (as its database connection does). A fragment's key carries it only
  while the process has such a write not yet committed; see fragment_key.

Bulk writes that send no signals (`bulk_create`, `QuerySet.update`) call `data_changed()` themselves, and
`choices_changed()` too when they write rows of CHOICE_MODELS.
A fragment is also keyed by who it is for (role and organisation: partners see only their actions),
the date (overdue and "within the cycle" depend on it) and the request's recognised, cleaned query
(form_vary: junk parameters never make an entry), and it expires after
FRAGMENT_CACHE_SECONDS in any case. A fragment must hold nothing per user or per session: no CSRF
token, no user name, no CSP nonce (tests check the first).

Bounded staleness (cached_fragment with a FragmentKey): a change is on every page anyone loads at most
FRAGMENT_MAX_STALE_SECONDS (2 s) after it committed, and on the page of the person who made it at once.
- When the shared generation goes up (right after the writing transaction commits, in the same
  on_commit step), the row also records when (`changed_at`), by the database server's clock; each
  request reads it with the database's current time in the same query that reads the generation. That
  is the only clock the bound uses: no web process's own clock is compared with another's (on SQLite,
  the database's clock is the host's). The committing process also keeps each generation's commit
  time in the cache (for a previous fragment that lacks more than one change).
- The last fragment rendered for an audience and query is also kept under a "latest" key without the
  generation. A request that finds its fragment out of date may be answered with that previous
  fragment only if the oldest change it lacks committed less than FRAGMENT_MAX_STALE_SECONDS ago (an
  unknown commit time counts as long ago). Then it takes a short lock in the cache
  (`cache.add`, FRAGMENT_RENDER_LOCK_SECONDS) and its process renders the new fragment right after the
  response has gone (request_finished; in a thread, so the process goes on answering); requests that
  find the lock taken meanwhile get the previous fragment too. In every other case the request renders
  the fragment itself and stores it: after the bound, whatever renders are under way or have died.
- After a commit, the web process that made it renders again, in the background, the fragments that
  requests stored most recently (up to FRAGMENT_PRERENDER_LIMIT, most recent first; the views register
  how with `prerendered`), each under the same lock, so that readers usually find the new fragment ready:
  see `prerender`. A process without those views loaded (a command, a Celery worker) renders nothing
  ahead: its changes are still on every page within the bound, rendered by the first request after it.
- Keys do not carry a process's own counter unless it has a write not yet committed, so every process
  finds the fragment another has rendered for the same generation.

Choice lists (the register's filter form) change far less often than the data: they have a generation of
their own, the *choices generation* (a second DataGeneration row), which goes up only when a model that
fills a choice list is saved or deleted (CHOICE_MODELS: plans, priorities, objectives, partnerships,
indicators, organisations, people). choices_fragment_key() keys a fragment on it instead of the data
generation, so recording an update does not render the filter form again.

What is guaranteed:
- Read your writes, for a person: a change a person commits is on their very next page, whichever
  process or host serves it. The shared generation their change produced is kept in their session
  (FreshAfterOwnWritesMiddleware) and no fragment older than it is served to them. (Their other
  sessions, on another browser or device, are "everyone else" below.)
- Read your writes, for a process: a process never serves a previous fragment while it has a write
  not yet committed, nor one older than the writes it committed outside a request (a command, a
  shell, a test).
- Everyone else: a page requested FRAGMENT_MAX_STALE_SECONDS (2 s) or more after a change committed
  shows it, even if no render after it ever ran or finished. Before that, it may show the previous
  fragment.
  With FRAGMENT_MAX_STALE_SECONDS = 0 (the tests' setting) no previous fragment is ever served: every
  request finds the fragment of the current generation or renders it.
"""

import dataclasses
import datetime
import hashlib
import itertools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from django.apps import apps as django_apps
from django.apps.registry import Apps
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model
from django.db.models.functions import Now
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from . import metrics
from .models import DataGeneration, User
from .watching import CHOICE_MODELS, UNWATCHED, WATCHED_APPS, on_watch

logger = logging.getLogger(__name__)

_local_writes = itertools.count(1)
_local_generation = 0
# This process's own writes, for serving previous fragments (see the module's docstring):
# the shared generation its last committed write produced, and whether a write is not yet committed.
_own = {"committed": 0, "pending": False}
# Per thread (one request at a time): renders to run after the response, what this request committed,
# whether it committed anything to render ahead, and whether the thread is rendering ahead (prerender).
_request = threading.local()
SESSION_KEY = "_fragment_min_generation"

DATA_ROW, CHOICES_ROW = 1, 2  # DataGeneration rows: every watched change; changes to choice lists
_local_choices = itertools.count(1)
_local_choices_generation = 0
# One statement per database that also says which generation a commit produced (SQLite >= 3.35, PostgreSQL)
# and stamps it with the database's clock (as Django's Now() writes it): the bound on staleness counts from it.
_BUMP = "UPDATE tracker_datageneration SET value = value + 1, changed_at = {} WHERE id = 1 RETURNING value, changed_at"
_BUMP_WITH_CLOCK = {
    "postgresql": _BUMP.format("STATEMENT_TIMESTAMP()"),
    "sqlite": _BUMP.format("STRFTIME('%%Y-%%m-%%d %%H:%%M:%%f', 'NOW')"),
}


def _bump_shared(using=None):
    connection = connections[using or DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(_BUMP_WITH_CLOCK.get(connection.vendor, _BUMP.format("CURRENT_TIMESTAMP")), [])
        row = cursor.fetchone()
    if not row:
        created = DataGeneration.objects.get_or_create(pk=DATA_ROW, defaults={"value": 1, "changed_at": Now()})[0]
        row = DataGeneration.objects.values_list("value", "changed_at").get(pk=created.pk)
    value, changed_at = row[0], _seconds(row[1])
    if changed_at is not None:
        try:
            # Each generation's commit time, for readers whose previous fragment lacks more than one change.
            cache.set(_committed_at_key(value), changed_at, settings.FRAGMENT_CACHE_SECONDS)
        except Exception:
            logger.warning("fragment cache unavailable: commit time of generation %s not kept", value, exc_info=True)
    _own["pending"] = False
    if getattr(_request, "deferred", None) is None:
        # A write outside a request (a command, a shell, a test): it counts for every page this process serves.
        _own["committed"] = max(_own["committed"], value)
        _prerender_soon()
    else:
        # A write in a request counts for the person who made it (their session), on any process.
        _request.committed = max(getattr(_request, "committed", 0), value)
        _request.prerender = True  # once the response has gone (_render_deferred)


def _seconds(moment):
    """A time read from the database (a datetime, or SQLite's text in UTC) in seconds since the epoch, or None."""
    if isinstance(moment, str):
        moment = datetime.datetime.fromisoformat(moment)
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.UTC)  # SQLite keeps UTC (USE_TZ)
    return moment.timestamp()


def _committed_at_key(value):
    return f"fragment-generation-committed-at:{value}"


def _bump_choices(using=None):
    with connections[using or DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("UPDATE tracker_datageneration SET value = value + 1 WHERE id = %s", [CHOICES_ROW])
        if cursor.rowcount:
            return
    DataGeneration.objects.get_or_create(pk=CHOICES_ROW, defaults={"value": 1})


def choices_changed(using=None):
    """Record that a choice list's rows changed: at once for this process, for all processes at commit."""
    global _local_choices_generation
    if getattr(_request, "prerendering", False):
        return  # a render ahead writes nothing: its transaction is rolled back (prerender)
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
    if getattr(_request, "prerendering", False):
        return  # a render ahead writes nothing: its transaction is rolled back (prerender)
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
    """The current data generation: (committed changes, this process's own writes).

    The same query reads the choices generation, when the data generation last went up and the time now,
    both by the database's clock (kept for this thread in _last_read)."""
    rows = {
        pk: (value, changed_at, now)
        for pk, value, changed_at, now in DataGeneration.objects.filter(pk__in=(DATA_ROW, CHOICES_ROW))
        .annotate(now=Now())
        .values_list("pk", "value", "changed_at", "now")
    }
    shared, changed_at, now = rows.get(DATA_ROW, (0, None, None))
    _last_read.choices = rows.get(CHOICES_ROW, (0, None, None))[0]
    _last_read.clock = (_seconds(changed_at), _seconds(now))
    return (shared, _local_generation)


# What the last generation() in this thread read besides (one query reads both rows): the choices
# generation, and (when the data generation last went up, now) in seconds by the database's clock.
_last_read = threading.local()


_recent: dict[str, Any] = {"local": None, "shared": 0, "read_at": float("-inf")}


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
    day and query), the oldest shared generation this request may be shown (its person's own writes),
    when this generation committed and when it was read (`committed_at`, `read_at`: seconds by the
    database's clock, None: unknown), and how to render it again after a change (`recipe`, for
    fragments registered with `prerendered`)."""

    key: str
    latest: str
    generation: int
    min_generation: int
    committed_at: float | None = None
    read_at: float | None = None
    recipe: dict | None = None


def _read_generations(request):
    """The data and choices generations, read once per request (one query), however many fragments."""
    if not hasattr(request, "_data_generation"):
        request._data_generation = generation()
        request._choices_generation = _last_read.choices
        request._data_clock = _last_read.clock


def fragment_key(request, name, *vary):
    """The FragmentKey of fragment `name` for this request's user, today, and `vary` (JSON-serialisable).

    None (no caching) when any part of `vary` is None: see form_vary.
    """
    if any(part is None for part in vary):
        return None
    _read_generations(request)
    shared, local = request._data_generation
    # Without a write of its own pending, a process reads what every process reads: one key for all.
    generation_part = (shared, local if _own["pending"] else 0)
    parts = [name, audience(request.user), timezone.localdate().isoformat(), *vary]
    digest = hashlib.sha256(json.dumps([generation_part, *parts], default=str).encode()).hexdigest()
    latest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
    session = getattr(request, "session", None)
    recipe = None
    if name in _builders and request.user.pk is not None and not getattr(_request, "prerendering", False):
        recipe = {"name": name, "user": request.user.pk, "path": request.path, "query": request.GET.urlencode()}
    return FragmentKey(
        key=f"fragment:{name}:{digest}",
        latest=f"fragment-latest:{name}:{latest}",
        generation=shared,
        min_generation=max(
            _own["committed"], committed_in_request(), session.get(SESSION_KEY, 0) if session is not None else 0
        ),
        committed_at=request._data_clock[0],
        read_at=request._data_clock[1],
        recipe=recipe,
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
    previous one while one process renders the new one, for at most FRAGMENT_MAX_STALE_SECONDS after
    the change committed (see the module's docstring).
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
        previous, current = (None, False) if plain else _previous(key)
        if current:
            metrics.fragment_lookup(key, "hit")
            return previous  # rendered for this generation by another process (or ahead of the request)
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
        return previous  # another process is rendering the new one, and the change is recent
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
        if key.recipe is not None:
            _remember(key)
    except Exception:
        logger.warning("fragment cache unavailable: not storing %s", key, exc_info=True)
    return html


def _previous(key):
    """(the last fragment rendered for this audience and query, whether it is of the current generation),
    or (None, False) when this request may not be shown it (see the module's docstring)."""
    if _own["pending"]:
        return None, False  # this process wrote something not yet committed: it must not read older data
    entry = cache.get(key.latest)
    if entry is None or entry["generation"] < key.min_generation:
        return None, False
    if entry["generation"] >= key.generation:
        return entry["html"], True
    # The oldest change it lacks committed within the bound (by the database's clock).
    if entry["generation"] == key.generation - 1:
        committed_at = key.committed_at
    else:
        committed_at = cache.get(_committed_at_key(entry["generation"] + 1))
    if committed_at is None or key.read_at is None:
        return None, False  # unknown: as if long ago
    if key.read_at - committed_at < settings.FRAGMENT_MAX_STALE_SECONDS:
        return entry["html"], False
    return None, False


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


# --- rendering ahead: the fragments requests stored most recently, again after each commit ----------

# Fragment name -> build(request) -> (FragmentKey or None, render): see prerendered.
_builders: dict[str, Callable[..., Any]] = {}
RECIPES_KEY = "fragment-recipes"


def prerendered(name):
    """Register `build(request) -> (FragmentKey or None, render)` for fragment `name` (a decorator).

    The view calls `cached_fragment(*build(request))`; after a commit, `prerender` calls `build` again
    with a request made like the last ones that stored the fragment (same user, path and query string,
    no session), and stores what it renders. So `build` and its render must depend on nothing else
    of the request, and write nothing (what they write is rolled back).
    """

    def register(build):
        _builders[name] = build
        return build

    return register


def _remember(key):
    """Keep the recipe of a fragment a request has just stored, most recent last, at most FRAGMENT_PRERENDER_LIMIT.

    Several processes may update the list at once and one update may be lost: then a fragment is not
    rendered ahead, and its next reader renders it (within the bound), no more.
    """
    limit = settings.FRAGMENT_PRERENDER_LIMIT
    if limit <= 0:
        return
    recipes = cache.get(RECIPES_KEY) or {}
    recipes.pop(key.latest, None)
    recipes[key.latest] = key.recipe
    for old in list(recipes)[: max(len(recipes) - limit, 0)]:
        del recipes[old]
    cache.set(RECIPES_KEY, recipes, settings.FRAGMENT_CACHE_SECONDS)


def _request_like(recipe, user):
    """A GET request like the one that stored `recipe`, for `user`, with no session: for build()."""
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = recipe["path"]
    request.META = {"REQUEST_METHOD": "GET", "QUERY_STRING": recipe["query"]}
    request.GET = QueryDict(recipe["query"])
    request.user = user
    return request


def prerender():
    """Render, for the current generation, the fragments requests stored most recently; return how many.

    Most recent first, at most FRAGMENT_PRERENDER_LIMIT. A fragment already stored for this generation,
    or whose lock another process holds (it is rendering it), is left alone. Each render holds the
    fragment's lock, so readers within the bound get the previous fragment rather than render it too,
    and runs in a transaction that is rolled back: a render ahead can change nothing.
    """
    try:
        recipes = list((cache.get(RECIPES_KEY) or {}).values())[::-1][: max(settings.FRAGMENT_PRERENDER_LIMIT, 0)]
    except Exception:
        logger.warning("fragment cache unavailable: nothing rendered ahead", exc_info=True)
        return 0
    recipes = [recipe for recipe in recipes if recipe["name"] in _builders]
    if not recipes:
        return 0
    users = User.objects.filter(is_active=True).in_bulk({recipe["user"] for recipe in recipes})
    rendered = 0
    _request.prerendering = True
    try:
        for recipe in recipes:
            if recipe["user"] not in users:
                continue
            try:
                with transaction.atomic():
                    rendered += _prerender_one(recipe, users[recipe["user"]])
                    transaction.set_rollback(True)
            except Exception:
                logger.exception("rendering fragment %s ahead failed", recipe["name"])
    finally:
        _request.prerendering = False
    return rendered


def _prerender_one(recipe, user):
    key, render = _builders[recipe["name"]](_request_like(recipe, user))
    if not isinstance(key, FragmentKey) or cache.get(key.key) is not None:
        return 0
    token = _take_lock(key)
    if token is None:
        return 0
    _render_locked(key, render, token)
    return 1


# One pass of prerender at a time per process; commits during a pass ask for one more pass after it.
_ahead = {"running": False, "again": False}
_ahead_guard = threading.Lock()


def _prerender_soon():
    """Render ahead after a commit: in a thread of its own (FRAGMENT_RENDER_IN_THREAD), else at once."""
    if settings.FRAGMENT_PRERENDER_LIMIT <= 0 or not _builders:
        return
    if not settings.FRAGMENT_RENDER_IN_THREAD:
        prerender()
        return
    with _ahead_guard:
        if _ahead["running"]:
            _ahead["again"] = True
            return
        _ahead["running"] = True
    threading.Thread(target=_prerender_passes, name="fragment-prerender", daemon=True).start()


def _prerender_passes():
    try:
        while True:
            try:
                prerender()
            except Exception:
                logger.exception("rendering fragments ahead failed")
            with _ahead_guard:
                if not _ahead["again"]:
                    return
                _ahead["again"] = False
    finally:
        with _ahead_guard:
            _ahead["running"] = False
        connections.close_all()  # this thread's own connections: nothing else will close them


def request_started(request):
    """Called by FreshAfterOwnWritesMiddleware before the view: renders may be deferred to after the response."""
    _request.deferred = []
    _request.committed = 0
    _request.prerender = False
    # No transaction open between requests: an earlier write either committed (and was counted) or was
    # rolled back (and changed nothing).
    if not connections[DEFAULT_DB_ALIAS].in_atomic_block:
        _own["pending"] = False


def committed_in_request():
    """The shared generation the current request's own writes produced (0: none)."""
    return getattr(_request, "committed", 0)


def _render_deferred(**kwargs):
    """After the response: render the fragments whose previous generation was served, then release their
    locks; and, if the request committed a change, render ahead (prerender).

    In a thread of its own (FRAGMENT_RENDER_IN_THREAD), so that the web process goes on answering
    requests meanwhile; tests render at once, inside their transaction."""
    deferred, _request.deferred = getattr(_request, "deferred", None) or [], None
    ahead, _request.prerender = getattr(_request, "prerender", False), False
    if deferred:
        if settings.FRAGMENT_RENDER_IN_THREAD:
            threading.Thread(target=_render_all, args=(deferred, True), name="fragment-render", daemon=True).start()
        else:
            _render_all(deferred, False)
    if ahead:
        _prerender_soon()


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
        # Sessionless paths (the public pages, the API) never read or write one: no cookie, no Vary.
        if request.path_info.startswith(settings.SESSIONLESS_PATH_PREFIXES):
            session = None
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


def _connect_app(app_label: str) -> None:
    for model in django_apps.get_app_config(app_label).get_models():
        _connect_model(model)


def _connect_model(model: type[Model]) -> None:
    if not _watched(model):
        return
    label = model._meta.label_lower
    post_save.connect(_on_save, sender=model, dispatch_uid=f"caching-save-{label}")
    post_delete.connect(_on_delete, sender=model, dispatch_uid=f"caching-delete-{label}")
    for field in model._meta.local_many_to_many:
        through = field.remote_field.through
        if through is None:  # set for every many-to-many once the app registry is ready, as it is here
            continue
        m2m_changed.connect(_on_m2m, sender=through, dispatch_uid=f"caching-m2m-{through._meta.label_lower}")


def connect(apps: Apps) -> None:
    """Connect the receivers to each watched model (not to every model: that would stop fast deletes).

    The apps above tracker say what of them is watched (tracker/watching.py) from their ready(), which runs
    after tracker's: their models are connected as they do.
    """
    for model in apps.get_models():
        _connect_model(model)
    on_watch(_connect_app)
    post_migrate.connect(_on_migrate, dispatch_uid="caching-migrate")
    request_finished.connect(_render_deferred, dispatch_uid="caching-render-deferred")
