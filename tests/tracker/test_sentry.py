"""Error reports to Sentry carry no personal data: a real error, through sentry-sdk with our settings and scrubber."""

import json
import logging
from urllib.parse import urlencode

import pytest
import sentry_sdk
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory
from django.urls import reverse
from sentry_sdk.transport import Transport

from tests.factories import ActionPartnerFactory, PartnerFactory
from tracker import sentry

NOTE = "Met the witness Ahmed Khan at the Dover office about the Calloway case"
EMAIL = "jane.doe@partner.example.org"
CSRF = "k" * 32


class Captured(Transport):
    """Keeps what sentry-sdk would send, as the JSON it would send."""

    def __init__(self, options=None):
        super().__init__(options)
        self.sent = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.payload.json is not None:
                self.sent.append(item.payload.json)


@pytest.fixture
def reports():
    transport = Captured()
    sentry.init(
        "https://public@sentry.example.org/1",
        environment="test",
        release="plan-tracker@test",
        traces_sample_rate=0,
        transport=transport,
    )
    yield transport.sent
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: reporting off again for the rest of the run


def test_a_real_error_report_holds_no_email_name_note_or_request_body(db, reports, monkeypatch):
    partner = PartnerFactory(username="jdoe-partner", first_name="Jane", last_name="Doe", email=EMAIL)
    action = ActionPartnerFactory(organisation=partner.organisation).action
    logger = logging.getLogger("tracker.security")

    def failing_service(*, action, by, status, note, evidence_url):
        logger.info("submission by user=%s email=%s", by.username, by.email)  # a breadcrumb
        raise ValueError(f"could not store the note {note!r} for {by.email} ({by.get_full_name()})")

    monkeypatch.setattr("priorities.views.submissions.submission_create", failing_service)
    browser = Client()
    browser.force_login(partner)
    # Through Django's real WSGI handler, as gunicorn calls it (sentry-sdk instruments that, not the test client).
    environ = (
        RequestFactory()
        .post(
            reverse("priorities:submission-create", args=[action.pk]) + f"?who={EMAIL}",
            urlencode(
                {
                    "status": "on_track",
                    "note": NOTE,
                    "evidence_url": "https://files.example.org/Jane-Doe-statement.pdf",
                    "csrfmiddlewaretoken": CSRF,
                }
            ),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_REQUEST_ID="req-sentry-1",
            HTTP_USER_AGENT="Mozilla/5.0 (Jane's laptop)",
            HTTP_REFERER=f"https://plans.example.org/actions/?q={EMAIL}",
            HTTP_COOKIE=f"sessionid={browser.cookies['sessionid'].value}; csrftoken={CSRF}",
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
        .environ
    )
    statuses = []
    # As Django's test client does: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, lambda status, headers, *args: statuses.append(status))
        b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert statuses == ["500 Internal Server Error"]
    sentry_sdk.flush()
    [event] = [item for item in reports if item.get("exception")]
    sent = json.dumps(event)
    # What would identify a person or repeat what they wrote: nowhere in the report.
    for secret in (
        EMAIL,
        "Jane",
        "Doe",
        "jdoe-partner",
        "Ahmed",
        "Dover",
        "Calloway",
        "Jane-Doe-statement",
        "sessionid",
        "csrftoken",
        "127.0.0.1",
    ):
        assert secret not in sent, f"{secret!r} was sent: {sent[:3000]}"
    assert "user" not in event
    request = event["request"]
    assert set(request) <= {"method", "url", "headers", "query_string"}
    assert request["url"] == "http://testserver/actions/<int:pk>/submit/"
    assert set(request["headers"]) <= {"Content-Type", "Content-Length"}
    assert request["method"] == "POST"
    # What an engineer needs is still there.
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ValueError"
    assert exception["value"].startswith("could not store the note [Filtered] for [Filtered]")
    frames = exception["stacktrace"]["frames"]
    assert any(frame["function"] == "failing_service" for frame in frames)
    assert not any("vars" in frame for frame in frames)
    assert event["tags"]["request_id"] == "req-sentry-1"
    crumbs = [crumb.get("message") or "" for crumb in event["breadcrumbs"]["values"]]
    assert "submission by user=[Filtered] email=[Filtered]" in crumbs


def test_the_scrubber_on_texts():
    text = "Key (email)=(a.b@example.org) already exists; user=jane from=10.0.0.1 'Jane Doe' “quoted”"
    assert sentry.scrub_text(text) == (
        "Key (email)=([Filtered]) already exists; user=[Filtered] from=[Filtered] [Filtered] [Filtered]"
    )
    assert sentry.scrub_text("Jane Smith wrote", personal=["Jane Smith"]) == "[Filtered] wrote"
