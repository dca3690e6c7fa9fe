"""/healthz: whether the database, the cache and the Celery broker answer (for an orchestrator's health check).

Answered by tracker.middleware.MachineEndpointsMiddleware before the host check, and routed in tracker/urls.py.
"""

import logging
import secrets

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery import app

logger = logging.getLogger("tracker.views")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        logger.exception("Health check: the database did not answer")
        return False


HEALTH_CACHE_KEY = "healthz:probe"


def _cache_ok() -> bool:
    """The cache stores and returns a value (with CACHE_URL, Redis answers)."""
    try:
        probe = secrets.token_hex(8)
        cache.set(HEALTH_CACHE_KEY, probe, 10)
        return cache.get(HEALTH_CACHE_KEY) == probe
    except Exception:
        logger.exception("Health check: the cache did not answer")
        return False


def _broker_ok() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.exception("Health check: the Celery broker did not answer")
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the cache and the broker answer, 503 naming what is down.

    Unauthenticated and cheap (one query, one cache write and read, one broker connection); it says only
    "ok" or "down" for each, never an address or an error message.
    """
    checks = {
        "database": "ok" if _database_ok() else "down",
        "cache": "ok" if _cache_ok() else "down",
        "broker": "ok" if _broker_ok() else "down",
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)
