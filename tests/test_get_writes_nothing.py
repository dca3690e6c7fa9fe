"""Reading a page writes nothing: every GET page of the product, as each role, runs no INSERT, UPDATE or DELETE.

The pages come from the access matrix (tests/test_access_matrix.py: every URL pattern, its kwargs in
its world); a GET that answers 405 is not a page. The only writes allowed are the ones made by design,
listed in WRITES_BY_DESIGN with why.
"""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.test_access_matrix import EXPECTED, ROLES, _url
from tests.test_access_matrix import world as world  # noqa: F401 (the matrix's fixture, used here)

# The tables a GET may write to, and why. (Signing in writes last_login, before the pages are read.)
WRITES_BY_DESIGN = {
    # The security log (tracker/security.py): a refused request (403) is recorded for the secretariat.
    "audit_securityevent": "a refused request is a security event",
    # The access log (audit app): reading personal data, the progress report or the admin is recorded.
    "audit_accessevent": "who read personal data or the progress report is recorded",
    # Django's own session use: a password-reset link is moved into the session before its form
    # (password-reset-confirm), and the second step's new secret waits there until confirmed (two-step-setup).
    "django_session": "Django's password reset and the two-step setup keep their state in the session",
}
WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
SIGNED_IN = [role for role in ROLES if role != "anonymous"]


def writes(queries):
    """(table, statement) of every write among `queries` not made by design."""
    found = []
    for query in queries:
        match = WRITE.match(query["sql"])
        if match and match.group(2) not in WRITES_BY_DESIGN:
            found.append((match.group(2), query["sql"][:200]))
    return found


@pytest.mark.parametrize("role", SIGNED_IN)
def test_no_get_page_writes(world, role):
    users, kwargs = world
    client = Client()
    client.force_login(users[role])
    index = ROLES.index(role)
    pages = [name for name, (get, _post) in sorted(EXPECTED.items()) if get[index] != 405]
    assert len(pages) > 50, "the access matrix's pages were not found"
    found = {}
    for name in pages:
        url = _url(name, kwargs)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        if written := writes(queries.captured_queries):
            found[f"GET {url} ({name})"] = written
    assert found == {}


def test_the_check_sees_a_write():
    queries = [
        {"sql": 'SELECT "priorities_plan"."id" FROM "priorities_plan"'},
        {"sql": 'INSERT INTO "priorities_planchoice" ("user_id", "plan_id") VALUES (1, 2)'},
        {"sql": 'UPDATE "tracker_user" SET "last_seen" = 1'},
        {"sql": 'DELETE FROM "priorities_planchoice" WHERE "user_id" = 1'},
        {"sql": 'INSERT INTO "audit_securityevent" ("message") VALUES (\'refused\')'},
    ]
    assert [table for table, _sql in writes(queries)] == [
        "priorities_planchoice",
        "tracker_user",
        "priorities_planchoice",
    ]
