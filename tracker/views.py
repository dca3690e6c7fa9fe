import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

# Where each role lands after signing in; the first page that exists wins.
ROLE_HOMES = {
    "secretariat": ["priorities:action-list", "priorities:plan"],
    "commissioner": ["dashboard", "priorities:plan"],
    "partner": ["partners:home", "priorities:plan"],
}


@login_required
def home(request):
    for name in ROLE_HOMES.get(request.user.role, ["priorities:plan"]):
        try:
            return redirect(reverse(name))
        except NoReverseMatch:
            continue
    return redirect("priorities:plan")


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True
    except Exception:
        logger.exception("Health check: the database did not answer")
        return False


def _broker_ok():
    from tracker.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.exception("Health check: the Celery broker did not answer")
        return False


@never_cache
@require_GET
def healthz(request):
    """200 when the database and the broker answer, 503 naming what is down."""
    checks = {
        "database": "ok" if _database_ok() else "down",
        "broker": "ok" if _broker_ok() else "down",
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)


def csrf_failure(request, reason=""):
    """A refused form (missing or stale CSRF token) gets a page that says what to do, not a bare 403."""
    return render(request, "403_csrf.html", status=403)
