"""Writes deploy/grafana/dashboards/plan-tracker.json, the dashboard Grafana loads.

Run: python deploy/grafana/make_dashboard.py.

Kept as code so that each panel's query is readable and the JSON stays consistent; tests/test_monitoring_deploy.py
checks that every metric the dashboard asks for is one /metrics serves.
"""

import json
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "plan-tracker-prometheus"}
RATE = "$__rate_interval"


def p95(by, buckets):
    return f"histogram_quantile(0.95, sum by ({by}) (rate({buckets}[{RATE}])))"


PANELS = [
    # (title, description, unit, [(query, legend)], kind)
    (
        "Requests per second by status",
        "Responses of the web processes, by HTTP status.",
        "reqps",
        [(f"sum by (status) (rate(django_http_responses_total_by_status_view_method_total[{RATE}]))", "{{status}}")],
        "timeseries",
    ),
    (
        "Server errors (5xx) per second",
        "Any value above 0 needs a look: see Sentry or the logs (request id).",
        "reqps",
        [(f'sum(rate(django_http_responses_total_by_status_view_method_total{{status=~"5.."}}[{RATE}]))', "5xx")],
        "timeseries",
    ),
    (
        "Response time, 95th percentile, by page",
        "Time from the first middleware to the last, per URL name.",
        "s",
        [
            (
                p95("le, view", "django_http_requests_latency_seconds_by_view_method_bucket"),
                "{{view}}",
            )
        ],
        "timeseries",
    ),
    (
        "Busiest pages",
        "Requests per second by URL name.",
        "reqps",
        [
            (
                f"topk(10, sum by (view) (rate(django_http_requests_total_by_view_transport_method_total[{RATE}])))",
                "{{view}}",
            )
        ],
        "timeseries",
    ),
    (
        "Database queries per second",
        "Statements from web processes, Celery tasks and background renders.",
        "ops",
        [
            (f"sum(rate(plan_tracker_db_queries_total[{RATE}]))", "queries"),
            (f"sum(rate(plan_tracker_db_errors_total[{RATE}]))", "errors"),
        ],
        "timeseries",
    ),
    (
        "Database query time, 95th percentile",
        "",
        "s",
        [(f"histogram_quantile(0.95, sum by (le) (rate(plan_tracker_db_query_seconds_bucket[{RATE}])))", "p95")],
        "timeseries",
    ),
    (
        "Page fragments: cache hit ratio",
        "Share of register and dashboard fragments served from the cache.",
        "percentunit",
        [
            (
                f'sum(rate(plan_tracker_fragment_lookups_total{{result=~"hit|previous"}}[{RATE}])) / '
                f"sum(rate(plan_tracker_fragment_lookups_total[{RATE}]))",
                "served from the cache",
            )
        ],
        "timeseries",
    ),
    (
        "Page fragments by result",
        "hit, miss (rendered now), previous (while one process renders the new one), "
        "uncached, unavailable (the cache did not answer).",
        "ops",
        [(f"sum by (result) (rate(plan_tracker_fragment_lookups_total[{RATE}]))", "{{result}}")],
        "timeseries",
    ),
    (
        "Fragment render time, 95th percentile",
        "",
        "s",
        [
            (
                p95("le, fragment", "plan_tracker_fragment_render_seconds_bucket"),
                "{{fragment}}",
            )
        ],
        "timeseries",
    ),
    (
        "Emails waiting in the outbox",
        "Pending and sending emails, by outbox.",
        "short",
        [('sum by (outbox) (plan_tracker_outbox_emails{state=~"pending|sending"})', "{{outbox}}")],
        "timeseries",
    ),
    (
        "Oldest unsent email",
        "How long the oldest email not yet sent has waited. Digests wait for the daily digest by design.",
        "s",
        [("max by (outbox) (plan_tracker_outbox_oldest_unsent_seconds)", "{{outbox}}")],
        "timeseries",
    ),
    (
        "Emails given up on",
        "Failed after 5 attempts: the secretariat can retry them from the admin.",
        "short",
        [('sum by (outbox) (plan_tracker_outbox_emails{state="failed"})', "{{outbox}}")],
        "stat",
    ),
    (
        "Celery tasks by result",
        "",
        "ops",
        [(f"sum by (result) (rate(plan_tracker_celery_tasks_total[{RATE}]))", "{{result}}")],
        "timeseries",
    ),
    (
        "Celery task time, 95th percentile",
        "",
        "s",
        [
            (
                f"histogram_quantile(0.95, sum by (le, task) (rate(plan_tracker_celery_task_seconds_bucket[{RATE}])))",
                "{{task}}",
            )
        ],
        "timeseries",
    ),
]


def panel(index, title, description, unit, targets, kind):
    width, height = 12, 8
    return {
        "id": index + 1,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"x": (index % 2) * width, "y": (index // 2) * height, "w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": query, "legendFormat": legend}
            for n, (query, legend) in enumerate(targets)
        ],
    }


def dashboard():
    return {
        "uid": "plan-tracker",
        "title": "Plan Tracker",
        "description": "Requests, database, page-fragment cache, email outbox and Celery tasks of Plan Tracker.",
        "tags": ["plan-tracker"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": [panel(n, *spec) for n, spec in enumerate(PANELS)],
    }


if __name__ == "__main__":
    path = Path(__file__).resolve().parent / "dashboards" / "plan-tracker.json"
    path.write_text(json.dumps(dashboard(), indent=2) + "\n")
    print(f"wrote {path}")
