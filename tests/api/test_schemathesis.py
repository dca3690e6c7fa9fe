"""Schemathesis, an outside tool, sends requests it generates from the served schema, with a token of each kind.

Every operation of /api/v1/schema/ is called through the project's WSGI application (the full middleware
stack, the test's database) with examples Hypothesis draws from the schema: path ids are sometimes the
world's own (so items and reports are reached, not only 404s), sometimes anything the schema allows.
Each response must not be a 5xx, must have a documented status code, content type and headers, and a
body the schema describes. Examples are bounded so one run takes a minute or two per database.
"""

import random

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The tokens it uses: every role, and both scopes where a role may report.
TOKENS = [("partner_a", "report"), ("partner_b", "read"), ("secretariat", "report"), ("commissioner", "read")]
# Valid requests (as the schema allows) and invalid ones (each must be refused with a documented 4xx).
MODES = [
    (GenerationMode.POSITIVE, 6, CHECKS),
    (GenerationMode.NEGATIVE, 3, [*CHECKS, negative_data_rejection]),
]


@pytest.fixture
def wsgi_app():
    """The project's WSGI application, keeping the test's database connection (and so its transaction).

    A real request closes old connections when it starts and finishes; Django's test client unhooks
    that for its requests, and so must a test that calls the WSGI application itself.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _known_ids(world):
    """The world's ids by the first path segment, so generated requests also reach real items."""
    return {
        "actions": [world.action_a.pk, world.action_b.pk],
        "measures": [world.measure_a.pk, world.measure_b.pk],
        "measurements": [world.measurement.pk],
        "submissions": [world.submission_a.pk, world.submission_b.pk],
        "value-submissions": [world.value_submission_a.pk],
        "reminders": [world.reminder_a.pk],
        "organisations": [world.orgs["a"].pk, world.orgs["b"].pk],
        "plans": [world.action_a.objective.priority.plan_id],
        "priorities": [world.action_a.objective.priority_id],
        "objectives": [world.action_a.objective_id],
    }


def _with_known_id(case, known):
    """Half the time a real id, chosen from the case itself: a failing example replays the same way."""
    ids = known.get(case.operation.path.split("/")[3])
    if ids and "id" in (case.path_parameters or {}):
        chooser = random.Random(repr(sorted(case.path_parameters.items())))  # noqa: S311 (not for security)
        if chooser.random() < 0.5:
            case.path_parameters["id"] = str(chooser.choice(ids))


@pytest.mark.parametrize(("role", "scope"), TOKENS)
def test_the_api_answers_as_its_schema_says(world, wsgi_app, role, scope):
    api = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", wsgi_app)
    headers = {"Authorization": f"Bearer {world.token(role, scope)}"}
    known = _known_ids(world)
    failures, operations = [], 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples, checks in MODES:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
            def check(case):
                # An invalid case reaches the API as generated (Schemathesis may have left out the
                # Authorization header, or made the id invalid, on purpose): our token or a real id in their
                # place would make it a valid request, and its 200 a false "invalid data accepted".
                if mode is GenerationMode.POSITIVE:  # noqa: B023  # check() runs in this iteration
                    _with_known_id(case, known)
                call_headers = headers if mode is GenerationMode.POSITIVE else {}  # noqa: B023
                case.call_and_validate(headers=call_headers, checks=checks)

            try:
                check()
            except Exception as error:  # every operation is tried; all failures are reported together
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {error}")
    assert operations >= 40
    assert not failures, "\n\n".join(failures)
