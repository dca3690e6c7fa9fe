"""Prometheus metrics at /metrics, for a token or an allowed network only (docs/operations-monitoring.md).

What is measured, besides django-prometheus's requests by view and status and their latency:
- database queries: a counter and a histogram of their duration, per database (an execute wrapper on
  every connection, so web requests, Celery tasks and background renders all count);
- the page-fragment cache (tracker/caching.py calls fragment_lookup and counted_render): hits, misses,
  previous fragments served while a new one renders, renders and their duration;
- Celery tasks: successes, failures and retries by task, and their duration;
- at scrape time, whatever the apps register with register_scrape_collector (the email outboxes'
  depth and the age of their oldest unsent email): bounded queries, run only when Prometheus asks.

Counters live in this process, or with PROMETHEUS_MULTIPROC_DIR in files every process of the host
shares (tracker/multiprocess_metrics.py), so one scrape of any gunicorn worker sees them all.
"""

import datetime
import ipaddress
import logging
import time
from typing import Any

from celery.signals import task_failure, task_postrun, task_prerun, task_retry, task_success
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.models import Count, Min
from django.dispatch import receiver
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from .multiprocess_metrics import MULTIPROCESS

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("tracker.security")

# Database queries take milliseconds; pages and renders up to seconds.
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
RENDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900)

db_queries = Counter("plan_tracker_db_queries", "Database statements executed.", ["alias", "vendor"])
db_query_seconds = Histogram(
    "plan_tracker_db_query_seconds", "Time database statements took.", ["alias", "vendor"], buckets=QUERY_BUCKETS
)
db_errors = Counter("plan_tracker_db_errors", "Database statements that raised an error.", ["alias", "vendor"])

fragment_lookups = Counter(
    "plan_tracker_fragment_lookups",
    "Cached page fragments asked for, by fragment and result: hit (from the cache), miss (rendered now), "
    "previous (the previous fragment, while another request renders the new one), uncached (not cacheable), "
    "unavailable (the cache did not answer).",
    ["fragment", "result"],
)
fragment_renders = Histogram(
    "plan_tracker_fragment_render_seconds",
    "Page fragments rendered, and how long each took.",
    ["fragment"],
    buckets=RENDER_BUCKETS,
)
celery_tasks = Counter(
    "plan_tracker_celery_tasks", "Celery tasks run, by task and result (success, failure, retry).", ["task", "result"]
)
celery_task_seconds = Histogram(
    "plan_tracker_celery_task_seconds", "How long Celery tasks ran.", ["task"], buckets=TASK_BUCKETS
)


# --- the page-fragment cache (tracker/caching.py) ---------------------------------------------------


def _fragment_name(key):
    """The fragment's name from its cache key ("fragment:register:<digest>" -> "register"): a few known names."""
    text = getattr(key, "key", key)
    if not isinstance(text, str):
        return "uncached"
    parts = text.split(":")
    return parts[1] if parts[0] == "fragment" and len(parts) > 2 else parts[0]


def fragment_lookup(key, result):
    fragment_lookups.labels(_fragment_name(key), result).inc()


def counted_render(key, render):
    """`render`, counted and timed as one render of `key`'s fragment whenever it runs."""
    histogram = fragment_renders.labels(_fragment_name(key))

    def timed():
        with histogram.time():
            return render()

    return timed


# --- database queries ----------------------------------------------------------------------------------


class _QueryMetrics:
    """An execute wrapper (Django's connection.execute_wrapper) that counts and times each statement."""

    def __init__(self, alias, vendor):
        self.queries = db_queries.labels(alias, vendor)
        self.seconds = db_query_seconds.labels(alias, vendor)
        self.errors = db_errors.labels(alias, vendor)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception:
            self.errors.inc()
            raise
        finally:
            self.queries.inc()
            self.seconds.observe(time.perf_counter() - started)


@receiver(connection_created, dispatch_uid="tracker-metrics-queries")
def _count_queries(sender, connection, **kwargs):
    # Once per connection object: it keeps its wrappers when it reconnects.
    if not any(isinstance(wrapper, _QueryMetrics) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.append(_QueryMetrics(connection.alias, connection.vendor))


# --- Celery tasks --------------------------------------------------------------------------------------

_task_started: dict[str, float] = {}


@task_prerun.connect(dispatch_uid="tracker-metrics-prerun")
def _task_prerun(task_id=None, **kwargs):
    _task_started[task_id] = time.perf_counter()


@task_postrun.connect(dispatch_uid="tracker-metrics-postrun")
def _task_postrun(task_id=None, task=None, **kwargs):
    started = _task_started.pop(task_id, None)
    if started is not None and task is not None:
        celery_task_seconds.labels(task.name).observe(time.perf_counter() - started)


@task_success.connect(dispatch_uid="tracker-metrics-success")
def _task_success(sender=None, **kwargs):
    celery_tasks.labels(getattr(sender, "name", "unknown"), "success").inc()


@task_failure.connect(dispatch_uid="tracker-metrics-failure")
def _task_failure(sender=None, **kwargs):
    celery_tasks.labels(getattr(sender, "name", "unknown"), "failure").inc()


@task_retry.connect(dispatch_uid="tracker-metrics-retry")
def _task_retry(sender=None, **kwargs):
    celery_tasks.labels(getattr(sender, "name", "unknown"), "retry").inc()


# --- collectors run at scrape time ---------------------------------------------------------------------

_scrape_collectors: list[Any] = []


def register_scrape_collector(collector):
    """Add a prometheus_client collector whose collect() runs on each scrape (an app's ready() calls this).

    Its collect() should run a few bounded queries and yield metric families; an error there is logged
    and reported as plan_tracker_scrape_errors, never a failed scrape.
    """
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


class InvitationCollector:
    """Invitations not yet emailed (their task has not run, or keeps failing): the accounts' own outbox."""

    def collect(self):
        # The apps' AppConfig modules import this module while the app registry is still loading: no models yet.
        from .models import Invitation

        now = timezone.now()
        usable = Invitation.objects.filter(
            sent_at__isnull=True,
            accepted_at__isnull=True,
            created_at__gte=now - datetime.timedelta(days=Invitation.VALID_FOR_DAYS),
        )
        found = usable.aggregate(n=Count("pk"), oldest=Min("created_at"))
        emails = GaugeMetricFamily("plan_tracker_outbox_emails", "", labels=["outbox", "state"])
        emails.add_metric(["invitations", "pending"], found["n"])
        age = GaugeMetricFamily("plan_tracker_outbox_oldest_unsent_seconds", "", labels=["outbox"])
        age.add_metric(["invitations"], (now - found["oldest"]).total_seconds() if found["oldest"] else 0)
        yield emails
        yield age


class _ScrapeCollectors:
    """Every registered scrape-time collector; families of the same name from several are merged into one."""

    def collect(self):
        errors = GaugeMetricFamily(
            "plan_tracker_scrape_errors", "Scrape-time collectors that failed on this scrape.", labels=["collector"]
        )
        merged = {}
        for collector in _scrape_collectors:
            name = type(collector).__name__
            try:
                families = list(collector.collect())
            except Exception:
                logger.warning("metrics: collector %s failed", name, exc_info=True)
                errors.add_metric([name], 1)
                continue
            errors.add_metric([name], 0)
            for family in families:
                if family.name not in merged:
                    merged[family.name] = family
                    continue
                merged[family.name].samples.extend(family.samples)
                merged[family.name].documentation = merged[family.name].documentation or family.documentation
        yield from merged.values()
        yield errors


class _ThisProcess:
    """prometheus_client's default registry (this process's metrics, its CPU and memory) as one collector."""

    def collect(self):
        return REGISTRY.collect()


def exposition():
    """The text Prometheus reads: every process's metrics (or this one's) and the scrape-time collectors."""
    registry = CollectorRegistry()
    if MULTIPROCESS:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_ScrapeCollectors())
    return generate_latest(registry)


# --- who may scrape ------------------------------------------------------------------------------------


def allowed_networks(value):
    """The networks in METRICS_ALLOWED_NETWORKS ("10.0.0.0/8, 127.0.0.1"); a bad entry stops the start."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in value.split(",") if item.strip())


def _authorised(request):
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and constant_time_compare(given.strip(), token):
        return True
    if settings.METRICS_ALLOWED_NETWORKS:
        # The connection's own address: a header a client writes (X-Forwarded-For) could name any network.
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            return False
        return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)
    return False


@never_cache
@require_GET
def metrics_view(request):
    """The metrics, for a request with the METRICS_TOKEN bearer token or from METRICS_ALLOWED_NETWORKS.

    404 when neither is set (the default: nobody may scrape), 403 for anyone else.
    """
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        return HttpResponseNotFound("Not found", content_type="text/plain")
    if not _authorised(request):
        security_logger.warning("metrics refused: from=%s", request.META.get("REMOTE_ADDR", "unknown"))
        return HttpResponseForbidden("Forbidden", content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
