"""Rendered fragments of the register and the dashboard, cached until the data they show changes.

A fragment's key holds the *data generation*: a counter that goes up whenever a watched model (the plan,
its actions, partners, updates, submissions, indicators, organisations and users) is saved or deleted.

- The shared part is one database row (`DataGeneration`), incremented when the writing transaction
  commits, so every web process sees a change as soon as it is visible in the database, and never
  caches a page under a generation whose data it could not yet read.
- The local part counts this process's own writes at once, even inside a transaction, so a process
  always reads its own writes (as its database connection does).

Bulk writes that send no signals (`bulk_create`, `QuerySet.update`) call `data_changed()` themselves.
A fragment is also keyed by who it is for (role and organisation: partners see only their actions),
the date (overdue and "within the cycle" depend on it) and the request's recognised, cleaned query
(form_vary: junk parameters never make an entry), and it expires after
FRAGMENT_CACHE_SECONDS in any case. A fragment must hold nothing per user or per session: no CSRF
token, no user name, no CSP nonce (tests check the first).
"""

import hashlib
import itertools
import json
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.utils import timezone

logger = logging.getLogger(__name__)

_local_writes = itertools.count(1)
_local_generation = 0

# Models whose rows the cached pages never show: saving them changes nothing there.
UNWATCHED = {
    "priorities.reminder",
    "tracker.invitation",
    "tracker.datageneration",
    "indicators.measurementimport",
}
WATCHED_APPS = {"priorities", "indicators", "tracker"}


def _bump_shared():
    from .models import DataGeneration

    if not DataGeneration.objects.filter(pk=1).update(value=F("value") + 1):
        DataGeneration.objects.get_or_create(pk=1, defaults={"value": 1})


def data_changed(using=None):
    """Record that watched data changed: at once for this process, for all processes at commit."""
    global _local_generation
    _local_generation = next(_local_writes)
    connection = transaction.get_connection(using)
    # One shared increment per transaction, however many rows it writes.
    if not any(entry[1] is _bump_shared for entry in connection.run_on_commit):
        transaction.on_commit(_bump_shared, using=using, robust=True)


def generation():
    """The current data generation: (committed changes, this process's own writes)."""
    from .models import DataGeneration

    shared = DataGeneration.objects.filter(pk=1).values_list("value", flat=True).first()
    return (shared or 0, _local_generation)


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


def fragment_key(request, name, *vary):
    """The cache key of fragment `name` for this request's user, today, and `vary` (JSON-serialisable).

    None (no caching) when any part of `vary` is None: see form_vary.
    """
    if any(part is None for part in vary):
        return None
    if not hasattr(request, "_data_generation"):
        request._data_generation = generation()  # one query per request, however many fragments
    parts = [name, request._data_generation, audience(request.user), timezone.localdate().isoformat(), *vary]
    digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
    return f"fragment:{name}:{digest}"


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

    A cache outage costs speed, never the page."""
    if key is None:
        return render()
    try:
        html = cache.get(key)
    except Exception:  # a cache server down or unreachable
        logger.warning("fragment cache unavailable: rendering %s", key, exc_info=True)
        return render()
    if html is None:
        html = render()
        try:
            cache.set(key, html, settings.FRAGMENT_CACHE_SECONDS)
        except Exception:
            logger.warning("fragment cache unavailable: not storing %s", key, exc_info=True)
    return html


def _watched(sender):
    meta = getattr(sender, "_meta", None)
    return meta is not None and meta.app_label in WATCHED_APPS and meta.label_lower not in UNWATCHED


def _on_save(sender, instance, update_fields=None, using=None, **kwargs):
    # Signing in writes last_login only: no page shows it.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    data_changed(using)


def _on_delete(sender, instance, using=None, **kwargs):
    data_changed(using)


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
