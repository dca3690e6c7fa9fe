"""/metrics: refused without the token or an allowed network, and, scraped with it, what Prometheus reads.

Each scrape is parsed by prometheus_client's own parser (the text format Prometheus reads). Counters are
this process's and other tests add to them, so each test compares a scrape after its requests with one
before.
"""

import datetime
import ipaddress

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from messaging.models import Notification, Reminder
from tests.factories import ActionFactory, ActionPartnerFactory
from tracker import tasks

TOKEN = "scrape-token-for-tests-0123456789"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = ()
    return TOKEN


def scrape(client=None, **headers):
    response = (client or Client()).get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Type"].startswith("text/plain; version=")
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def value(families, name, sample=None, **labels):
    """The sum of the samples `sample` (default: the family's name) with these labels, 0 if there are none."""
    family = families.get(name)
    if family is None:
        return 0
    return sum(
        found.value
        for found in family.samples
        if found.name == (sample or name) and all(found.labels.get(k) == v for k, v in labels.items())
    )


def test_metrics_are_off_unless_a_token_or_a_network_is_set(db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ()
    assert Client().get("/metrics").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    ["", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer"],
)
def test_metrics_are_refused_without_the_right_token(db, metrics_token, authorization, caplog):
    response = Client().get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 403
    assert b"django_http" not in response.content
    assert "metrics refused" in caplog.text


def test_an_allowed_network_is_the_connections_own_address(db, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("10.1.0.0/16"),)
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.2.0.1").get("/metrics").status_code == 403
    # A header the client writes names no network.
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403


def test_metrics_and_healthz_answer_any_host_name_over_plain_http(db, metrics_token, settings):
    # Prometheus and an orchestrator ask by container name, over HTTP inside the network.
    settings.ALLOWED_HOSTS = ["plans.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    client = Client(HTTP_HOST="web:8000")
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert client.get("/healthz").status_code == 200
    # Every other page still checks the host.
    assert client.get(reverse("login")).status_code == 400


def test_a_scrape_after_a_run_of_requests_has_the_expected_families(db, metrics_token, secretariat, settings):
    action = ActionPartnerFactory().action
    browser = Client()
    browser.force_login(secretariat)
    before = scrape()
    register = reverse("priorities:action-list")
    for _ in range(3):
        assert browser.get(register).status_code == 200
    assert browser.get(action.get_absolute_url()).status_code == 200
    assert browser.get("/no-such-page/").status_code == 404
    tasks.ping.apply()
    after = scrape()

    def added(name, sample=None, **labels):
        return value(after, name, sample, **labels) - value(before, name, sample, **labels)

    # Requests by view and status, and their latency.
    responses = "django_http_responses_total_by_status_view_method"
    assert added(responses, f"{responses}_total", view="priorities:action-list", status="200", method="GET") == 3
    assert added(responses, f"{responses}_total", view="priorities:action-detail", status="200", method="GET") == 1
    assert added(responses, f"{responses}_total", status="404", method="GET") >= 1
    latency = "django_http_requests_latency_seconds_by_view_method"
    assert added(latency, f"{latency}_count", view="priorities:action-list", method="GET") == 3
    assert 0 < added(latency, f"{latency}_sum", view="priorities:action-list", method="GET") < 60
    assert added(latency, f"{latency}_bucket", view="priorities:action-list", method="GET", le="+Inf") == 3
    # Database queries: some for each page, and a time for each.
    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1].replace("sqlite3", "sqlite")
    queries = added("plan_tracker_db_queries", "plan_tracker_db_queries_total", alias="default")
    assert queries >= 5 * 4, queries
    assert added("plan_tracker_db_query_seconds", "plan_tracker_db_query_seconds_count", alias="default") == queries
    assert vendor in {s.labels["vendor"] for s in after["plan_tracker_db_queries"].samples}
    # The register's table: rendered once, then served from the cache.
    lookups = "plan_tracker_fragment_lookups"
    assert added(lookups, f"{lookups}_total", fragment="register-table", result="miss") == 1
    assert added(lookups, f"{lookups}_total", fragment="register-table", result="hit") == 2
    renders = "plan_tracker_fragment_render_seconds"
    assert added(renders, f"{renders}_count", fragment="register-table") == 1
    # A Celery task that ran (here inline) counted by name and result.
    tasks_total = "plan_tracker_celery_tasks"
    assert added(tasks_total, f"{tasks_total}_total", task="tracker.tasks.ping", result="success") == 1
    assert (
        added("plan_tracker_celery_task_seconds", "plan_tracker_celery_task_seconds_count", task="tracker.tasks.ping")
        == 1
    )
    # This process's own figures, from prometheus_client's default collectors.
    assert value(after, "process_resident_memory_bytes") > 0


def test_the_outbox_depth_and_the_age_of_its_oldest_unsent_email(db, metrics_token, secretariat):
    now = timezone.now()
    action = ActionFactory()

    def reminder(n, state, hours_ago):
        return Reminder.objects.create(
            recipient_email=f"r{n}@example.org",
            action=action,
            kind=Reminder.Kind.MANUAL,
            cycle=datetime.date(2025, 1, n),
            state=state,
            created_at=now - datetime.timedelta(hours=hours_ago),
            sent_at=now if state == Reminder.State.SENT else None,
        )

    reminder(1, Reminder.State.PENDING, 3)
    reminder(2, Reminder.State.PENDING, 1)
    reminder(3, Reminder.State.SENDING, 2)
    reminder(4, Reminder.State.FAILED, 50)
    for n in range(5, 9):
        reminder(n, Reminder.State.SENT, 100)
    Notification.objects.create(
        key="k1",
        kind=Notification.Kind.SUBMITTED,
        recipient_email="n@example.org",
        subject="s",
        text="t",
        created_at=now - datetime.timedelta(minutes=10),
    )
    Notification.objects.create(
        key="k2",
        kind=Notification.Kind.SUBMITTED,
        delivery=Notification.Delivery.DIGEST,
        recipient_email="n@example.org",
        subject="s",
        text="t",
        created_at=now - datetime.timedelta(hours=20),
    )
    families = scrape()
    emails = "plan_tracker_outbox_emails"
    assert value(families, emails, outbox="reminders", state="pending") == 2
    assert value(families, emails, outbox="reminders", state="sending") == 1
    assert value(families, emails, outbox="reminders", state="failed") == 1
    assert value(families, emails, outbox="notifications", state="pending") == 1
    assert value(families, emails, outbox="notification_digests", state="pending") == 1
    assert value(families, emails, outbox="invitations", state="pending") == 0
    age = "plan_tracker_outbox_oldest_unsent_seconds"
    assert 3 * 3600 <= value(families, age, outbox="reminders") < 3 * 3600 + 120  # not the failed one
    assert 600 <= value(families, age, outbox="notifications") < 720
    assert value(families, age, outbox="notification_digests") >= 20 * 3600
    assert value(families, age, outbox="invitations") == 0
    assert value(families, "plan_tracker_scrape_errors", collector="OutboxCollector") == 0
    # One family each, however many collectors add to it.
    text = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert text.count(f"# TYPE {emails} gauge") == 1


def test_the_outbox_is_read_with_a_fixed_number_of_queries(db, metrics_token, django_assert_max_num_queries):
    action = ActionFactory()
    Reminder.objects.bulk_create(
        Reminder(recipient_email=f"r{n}@example.org", action=action, kind="manual", cycle=datetime.date(2025, 1, 1))
        for n in range(300)
    )
    with django_assert_max_num_queries(4):
        families = scrape()
    assert value(families, "plan_tracker_outbox_emails", outbox="reminders", state="pending") == 300


def test_a_failing_collector_is_reported_not_a_failed_scrape(db, metrics_token, monkeypatch, caplog):
    from messaging.metrics import OutboxCollector

    def broken(self):
        raise RuntimeError("database gone")

    monkeypatch.setattr(OutboxCollector, "collect", broken)
    families = scrape()
    assert value(families, "plan_tracker_scrape_errors", collector="OutboxCollector") == 1
    assert "collector OutboxCollector failed" in caplog.text
