"""The bench's in-process helpers (run as `python -m bench.inproc COMMAND JSON` with DJANGO_SETTINGS_MODULE set)."""

import json
import sys

import django


def sessions(usernames, fresh=False):
    """{username: cookie}; `fresh`: sessions never shown a previous fragment, as after their own write."""
    from django.test import Client

    from tracker.caching import SESSION_KEY
    from tracker.models import User

    cookies = {}
    for username in usernames:
        client = Client()
        client.force_login(User.objects.get(username=username))
        if fresh:
            session = client.session
            session[SESSION_KEY] = 2**62
            session.save()
        cookies[username] = f"sessionid={client.cookies['sessionid'].value}"
    return cookies


def facts():
    """Who and what the benchmarks visit, chosen the same way at every scale."""
    from django.db.models import Count

    from priorities.models import Action
    from tracker.models import Organisation, User

    busiest = Organisation.objects.annotate(n=Count("partnerships")).order_by("-n", "pk").first()
    partner = User.objects.filter(role=User.Role.PARTNER, organisation=busiest).order_by("pk").first()
    secretariat = User.objects.filter(role=User.Role.SECRETARIAT).order_by("pk").first()
    # The admin change list needs a superuser: the first generated secretariat user becomes one.
    User.objects.filter(pk=secretariat.pk).update(is_staff=True, is_superuser=True)
    return {
        "secretariat": secretariat.username,
        "commissioner": User.objects.filter(role=User.Role.COMMISSIONER).order_by("pk").first().username,
        "partner": partner.username,
        "organisation": busiest.slug,
        "action": Action.objects.order_by("sort_key").values_list("pk", flat=True).first(),
        "objective": Action.objects.order_by("sort_key").values_list("objective_id", flat=True).first(),
        "actions": Action.objects.count(),
    }


CACHED_PAGES = {"register", "dashboard"}  # their bodies are cached fragments (tracker/caching.py)


def query_counts():
    """SQL queries per page (after a change, and again unchanged where cached), counted in-process."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tracker.caching import data_changed
    from tracker.models import User

    # Counted as rendered in the request: a render ahead (in a thread, after each change) must not serve it.
    settings.FRAGMENT_PRERENDER_LIMIT = 0
    who = facts()
    pages = [
        ("register", "/actions/", who["secretariat"]),
        ("dashboard", "/dashboard/", who["commissioner"]),
        ("progress report", "/reports/progress/", who["commissioner"]),
        ("progress report, part 2", "/reports/progress/?page=2", who["commissioner"]),
        ("action page", f"/actions/{who['action']}/", who["secretariat"]),
        ("partner home", "/", who["partner"]),
        ("partner home, page 2", "/?page=2", who["partner"]),
        ("review queue", "/reviews/", who["secretariat"]),
        ("organisation page", f"/organisations/{who['organisation']}/", who["secretariat"]),
    ]
    counts = {}
    for name, path, username in pages:
        client = Client()
        client.force_login(User.objects.get(username=username))
        client.get(path)  # warm: the first request loads content types and the like
        data_changed()  # as after any change: cached fragments are rendered afresh
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path} as {username} answered {response.status_code}")
        counts[name] = len(captured)
        if name in CACHED_PAGES:
            with CaptureQueriesContext(connection) as captured:
                client.get(path)
            counts[f"{name}, unchanged data (cached)"] = len(captured)
    return {"actions": who["actions"], "counts": counts}


def report_queries():
    """The progress report's queries (today, as of 90 days ago, the last part), its parts and that date."""
    import datetime

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from overview.page_data import REPORT_ACTIONS_LIMIT
    from priorities.models import Action, Priority
    from tracker.models import User

    who = facts()
    past = (timezone.localdate() - datetime.timedelta(days=90)).isoformat()
    # Parts as the report makes them: each priority's live actions in parts of at most the limit.
    totals = [Action.objects.live().filter(objective__priority=p).count() for p in Priority.objects.live()]
    parts = sum(-(-n // REPORT_ACTIONS_LIMIT) for n in totals) if sum(totals) > REPORT_ACTIONS_LIMIT else 1
    client = Client()
    client.force_login(User.objects.get(username=who["commissioner"]))
    pages = {"today": {}, "as of 90 days ago": {"as_of": past}, "last part": {"page": parts}}
    counts = {}
    for name, query in pages.items():
        client.get("/reports/progress/", query)  # warm
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/reports/progress/", query)
        if response.status_code != 200:
            raise SystemExit(f"the report {query} answered {response.status_code}")
        counts[name] = len(captured)
    return {"parts": parts, "ninety_days_ago": past, "counts": counts}


def action_state(pks):
    """{pk: [version, status, number of updates]} for the drills' checks."""
    from django.db.models import Count

    from priorities.models import Action

    rows = Action.objects.filter(pk__in=pks).annotate(n=Count("updates")).values_list("pk", "version", "status", "n")
    return {str(pk): [version, status, n] for pk, version, status, n in rows}


def staff():
    """Two secretariat users, for two people saving the same action."""
    from tracker.models import User

    return list(User.objects.filter(role=User.Role.SECRETARIAT).order_by("pk").values_list("username", flat=True)[:2])


def api_tokens(partner, secretariat):
    from bench.api import tokens

    return tokens(partner, secretariat)


COMMANDS = {
    "sessions": sessions,
    "facts": facts,
    "query_counts": query_counts,
    "report_queries": report_queries,
    "action_state": action_state,
    "staff": staff,
    "api_tokens": api_tokens,
}

if __name__ == "__main__":
    django.setup()
    command, arguments = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    print(json.dumps(COMMANDS[command](**arguments)))
