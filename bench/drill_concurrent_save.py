"""Drill: two people save the same action at the same moment, from two processes over HTTP.

Proves: exactly one save is recorded and the other person is refused (409, "Someone else changed
this action"), never two updates built on the same version.
"""

import multiprocessing
import re

from bench import harness
from bench.harness import request, say

ROUNDS = 5


def _cookie_value(headers, name):
    for value in headers.get_all("Set-Cookie") or []:
        match = re.match(rf"{name}=([^;]+)", value)
        if match:
            return match.group(1)
    return None


def person(port, session, pk, note, barrier, results):
    """One browser: open the action page, wait for the other, then save an update on what it saw."""
    status, html, _, headers = request(port, f"/actions/{pk}/", cookie=session)
    assert status == 200, f"the action page answered {status}"
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    csrf_cookie = _cookie_value(headers, "csrftoken")
    from urllib.parse import urlencode

    body = urlencode({"csrfmiddlewaretoken": token, "status": "at_risk", "note": note, "version": version})
    barrier.wait(timeout=30)
    status, html, _, _ = request(
        port,
        f"/actions/{pk}/updates/",
        cookie=f"{session}; csrftoken={csrf_cookie}",
        method="POST",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused = "Someone else changed this action after you opened it" in html
    results.put((note, int(version), status, refused))


def run(db, server):
    say("Drill: two people save the same action at once (two processes, HTTP to gunicorn)")
    users = harness.inproc(db, "staff")
    if len(users) < 2:
        raise SystemExit("The drill needs two secretariat users.")
    cookies = harness.sessions(db, users)
    pks = list(range(1, ROUNDS + 1))
    before = harness.inproc(db, "action_state", pks=pks)
    ctx = multiprocessing.get_context("spawn")
    failures = []
    for pk in pks:
        barrier, results = ctx.Barrier(2), ctx.Queue()
        people = [
            ctx.Process(
                target=person, args=(server.port, cookies[user], pk, f"Drill: saved by {user}", barrier, results)
            )
            for user in users
        ]
        for process in people:
            process.start()
        for process in people:
            process.join(timeout=60)
        outcomes = sorted(results.get(timeout=5) for _ in people)
        statuses = sorted(status for _, _, status, _ in outcomes)
        same_version = len({version for _, version, _, _ in outcomes}) == 1
        after = harness.inproc(db, "action_state", pks=[pk])[str(pk)]
        saved = after[2] - before[str(pk)][2]
        refused_ok = all(refused for _, _, status, refused in outcomes if status == 409)
        ok = (
            same_version and statuses == [302, 409] and saved == 1 and after[0] == before[str(pk)][0] + 1 and refused_ok
        )
        say(
            f"  action {pk}: both opened version {outcomes[0][1]}; answers {statuses}; "
            f"updates recorded {saved}; version now {after[0]} -> {'ok' if ok else 'FAILED'}"
        )
        if not ok:
            failures.append(pk)
    if failures:
        say(f"FAILED: actions {failures} did not end with exactly one save and one refusal.")
        return False
    say(
        f"PROVED: in {ROUNDS} rounds of two simultaneous saves from two processes, exactly one was recorded "
        "(302) and the other refused with 409 and the 'someone else changed this action' message."
    )
    return True
