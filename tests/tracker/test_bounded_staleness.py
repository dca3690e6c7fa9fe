"""Bounded staleness (tracker/caching.py): a change is on every page anyone loads FRAGMENT_MAX_STALE_SECONDS
after it committed, and on the writer's own next page at once; renders ahead keep the cached speed.

The tests with a real clock sleep past the bound (no mocked time); the two-process version, on two gunicorn
instances sharing Redis, is tests/test_fresh_across_hosts.py.
"""

import datetime
import re
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from indicators.services import measurement_import_confirm, measurement_import_store
from plan_imports import services as plan_import_services
from plan_imports.reading import COLUMNS
from priorities import services
from priorities.models import Action, PlanChoice, Status, UpdateFrequency
from priorities.plan_choice import default_plan
from tests.factories import (
    ActionFactory,
    CommissionerFactory,
    MeasureFactory,
    ObjectiveFactory,
    PartnerFactory,
    PlanFactory,
    PriorityFactory,
    SecretariatFactory,
    SuccessIndicatorFactory,
)
from tracker import caching
from tracker.models import DataGeneration, Organisation

REGISTER = reverse("priorities:action-list")
DASHBOARD = reverse("overview:dashboard")
OVERDUE = f"{REGISTER}?overdue=on"


def main(response):
    """The page's main content: what the fragments fill (the header around it is per user)."""
    assert response.status_code == 200
    return response.content.decode().split("<main")[1].split("</main>")[0]


def register_codes(client, path=OVERDUE):
    """The action codes the register's first page lists."""
    return set(re.findall(r'<a class="govuk-link" href="/actions/\d+/">([\d.]+)</a>', main(client.get(path))))


def overdue_heading(client):
    return re.search(r"Updates overdue \(<a[^>]*>(\d+)</a>\)", main(client.get(DASHBOARD))).group(1)


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch):
    # A transactional test before this one may have committed generations that its flush took back.
    monkeypatch.setattr(caching, "_own", {"committed": 0, "pending": False})


def _as_another_process(monkeypatch, change):
    """Make `change` as another web process would: its data visible here, the shared generation bumped (and
    its time recorded) at its commit, nothing in this process's own bookkeeping."""
    local, committed = caching._local_generation, caching._own["committed"]
    change()
    caching._bump_shared()  # what that process's commit does
    monkeypatch.setattr(caching, "_local_generation", local)
    monkeypatch.setattr(caching, "_own", {"committed": committed, "pending": False})


def _hold_render_locks():
    """Take every cached fragment's render lock, as a process that died mid-render leaves it (until it expires)."""
    latest = [key.split(":", 2)[2] for key in cache._cache if ":fragment-latest:" in key]
    assert latest
    for key in latest:
        assert cache.add(f"fragment-lock:{key}", "a process that died", 300)


def _join_render_threads():
    for thread in threading.enumerate():
        if thread.name in ("fragment-render", "fragment-prerender"):
            thread.join(timeout=60)


# --- the tests' setting: a second person's very next page after a commit -------------------------------


def _record(action, by):
    return lambda: services.action_record_update(action=action, status=Status.ON_TRACK, note="Back on track", by=by)


def _submitted(action, partner):
    return services.submission_create(action=action, by=partner, status=Status.AT_RISK, note="Funding late")


def _import_row():
    row = {
        "priority": "5",
        "priority title": "International collaboration",
        "objective": "5.1",
        "objective title": "Targeted upstream activity",
        "action": "5.19",
        "action title": "Imported by a spreadsheet",
        "description": "Added through the plan import.",
        "update frequency": "Quarterly",
    }
    return (",".join(COLUMNS) + "\n" + ",".join(row.get(column, "") for column in COLUMNS) + "\n").encode()


KINDS = {
    "an update recorded": lambda f: _record(f["action"], f["secretariat"]),
    "a submission accepted": lambda f: (
        lambda s: lambda: services.submission_accept(submission=s, by=f["secretariat"])
    )(_submitted(f["action"], f["partner"])),
    "a submission returned": lambda f: (
        lambda s: lambda: services.submission_return(submission=s, by=f["secretariat"], reason="Say which funding")
    )(_submitted(f["action"], f["partner"])),
    "an action archived": lambda f: lambda: services.action_archive(action=f["action"], by=f["secretariat"]),
    "an action restored": lambda f: (
        services.action_archive(action=f["action"], by=f["secretariat"]),
        lambda: services.action_restore(action=f["action"], by=f["secretariat"]),
    )[1],
    "a plan imported": lambda f: (
        lambda upload: lambda: plan_import_services.plan_import_confirm(upload=upload, by=f["secretariat"])
    )(
        plan_import_services.plan_import_store(
            filename="plan.csv", content=_import_row(), by=f["secretariat"], plan=f["action"].objective.priority.plan
        )
    ),
    "measurements imported": lambda f: (
        lambda upload: lambda: measurement_import_confirm(upload=upload, by=f["secretariat"])
    )(
        measurement_import_store(
            filename="values.csv",
            content=b"measure,period start,period end,value,source,note\n"
            b"Joint investigations,2026-01-01,2026-03-31,17,NCA,\n",
            by=f["secretariat"],
        )
    ),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_second_persons_next_page_shows_every_kind_of_change(plan5, monkeypatch, kind):
    """With the tests' bound (0), the first page after a change, by someone who did not make it, is what a
    render from scratch shows: never the previous fragment."""
    action = Action.objects.get(code="5.21")
    MeasureFactory(indicator=SuccessIndicatorFactory(plan=plan5), name="Joint investigations", reporting_period=3)
    partner = PartnerFactory(organisation=Organisation.objects.get(slug="europol"))
    facts = {"action": action, "secretariat": SecretariatFactory(), "partner": partner}
    change = KINDS[kind](facts)  # what must exist before the change (a submission, an upload) is made first
    readers = [
        (signed_in(CommissionerFactory()), DASHBOARD),
        (signed_in(CommissionerFactory()), REGISTER),
        (signed_in(SecretariatFactory()), REGISTER),
        (signed_in(partner), REGISTER),
    ]
    before = [main(client.get(path)) for client, path in readers]
    _as_another_process(monkeypatch, change)
    after = [main(client.get(path)) for client, path in readers]
    cache.clear()
    afresh = [main(client.get(path)) for client, path in readers]
    assert after == afresh
    assert after != before  # the change shows on at least one of these pages


# --- with a real clock, in one process (the renders after the response in their threads, as in production) ---


@pytest.fixture
def production_rendering(settings):
    settings.FRAGMENT_RENDER_IN_THREAD = True
    settings.FRAGMENT_MAX_STALE_SECONDS = 2  # the production default
    yield settings
    # The flush after a transactional test is a change too (post_migrate), made before `settings` is put
    # back: it must start no thread that would outlive the test.
    settings.FRAGMENT_RENDER_IN_THREAD, settings.FRAGMENT_PRERENDER_LIMIT = False, 0
    _join_render_threads()  # before the database is flushed under them


def _overdue_action():
    plan = PlanFactory(title="Plan", start_date=timezone.localdate() - datetime.timedelta(days=400))
    objective = ObjectiveFactory(priority=PriorityFactory(plan=plan), code="1.1")
    ActionFactory(objective=objective, code="1.1.2", status=Status.ON_TRACK)  # something else on the pages
    return ActionFactory(
        objective=objective,
        code="1.1.1",
        status=Status.NOT_STARTED,
        update_frequency=UpdateFrequency.QUARTERLY,
        next_update_due=timezone.localdate() - datetime.timedelta(days=30),
    )


def _record_on_track(client, action):
    action.refresh_from_db()
    response = client.post(
        reverse("priorities:action-record-update", args=[action.pk]),
        {"status": Status.ON_TRACK, "note": "Back on track", "version": action.version},
    )
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ahead", [10, 0], ids=["rendered ahead", "nothing rendered ahead"])
def test_a_change_is_on_every_page_loaded_after_the_bound(production_rendering, ahead):
    """The issue's case: the commissioner has the dashboard and the register's overdue list open; the
    secretariat records "On track" on the overdue action; a reload after the bound shows it, for the
    commissioner and for the same secretariat person's other session, whether or not anything was
    rendered ahead. The writer's own next page shows it at once."""
    production_rendering.FRAGMENT_PRERENDER_LIMIT = ahead
    action = _overdue_action()
    writer = SecretariatFactory(username="sec-writer")
    secretariat, other_session, commissioner = signed_in(writer), signed_in(writer), signed_in(CommissionerFactory())
    for client in (secretariat, other_session, commissioner):
        assert register_codes(client) == {"1.1.1"}
        assert overdue_heading(client) == "1"
    _record_on_track(secretariat, action)
    assert register_codes(secretariat) == set() and overdue_heading(secretariat) == "0"  # at once
    time.sleep(2.2)  # past the bound, by the clock
    for client in (commissioner, other_session):
        assert register_codes(client) == set()
        assert overdue_heading(client) == "0"


@pytest.mark.django_db(transaction=True)
def test_within_the_bound_the_previous_fragment_may_be_served_and_after_it_never(production_rendering):
    """A render under way (its lock held) that never finishes: readers get the previous fragment while the
    change is recent, and the new one once the bound has passed, rendered by their own request."""
    production_rendering.FRAGMENT_PRERENDER_LIMIT = 0
    production_rendering.FRAGMENT_MAX_STALE_SECONDS = 1
    action = _overdue_action()
    secretariat, commissioner = signed_in(SecretariatFactory()), signed_in(CommissionerFactory())
    assert register_codes(commissioner) == {"1.1.1"}
    _hold_render_locks()
    started = time.monotonic()
    _record_on_track(secretariat, action)
    codes = register_codes(commissioner)
    if time.monotonic() - started < 1:  # the change is younger than the bound, for sure
        assert codes == {"1.1.1"}  # the previous fragment: a render is under way
    time.sleep(max(0.0, started + 1.1 - time.monotonic()))
    assert register_codes(commissioner) == set()
    assert register_codes(commissioner) == set()


@pytest.mark.django_db(transaction=True)
def test_a_previous_fragment_two_changes_behind_counts_from_the_older_change(production_rendering):
    """The bound runs from the oldest change a previous fragment lacks, not from the latest one."""
    production_rendering.FRAGMENT_PRERENDER_LIMIT = 0
    production_rendering.FRAGMENT_MAX_STALE_SECONDS = 1
    action = _overdue_action()
    other = Action.objects.get(code="1.1.2")
    secretariat, commissioner = signed_in(SecretariatFactory()), signed_in(CommissionerFactory())
    assert register_codes(commissioner, REGISTER) == {"1.1.1", "1.1.2"}
    before = main(commissioner.get(REGISTER))
    _hold_render_locks()
    started = time.monotonic()
    _record_on_track(secretariat, action)
    time.sleep(0.7)
    other.refresh_from_db()
    secretariat.post(
        reverse("priorities:action-record-update", args=[other.pk]),
        {"status": Status.AT_RISK, "note": "Slipping", "version": other.version},
    )
    page = main(commissioner.get(REGISTER))
    if time.monotonic() - started < 1:
        assert page == before
    time.sleep(max(0.0, started + 1.1 - time.monotonic()))  # the first change is past the bound, the second not
    page = main(commissioner.get(REGISTER))
    assert "Slipping" not in before and page != before
    cache.clear()
    assert page == main(commissioner.get(REGISTER))


def test_a_change_without_a_recorded_time_is_never_served_stale(client, secretariat, plan5, monkeypatch, settings):
    """A generation bumped without its time (by hand, or before this release) counts as long ago."""
    settings.FRAGMENT_MAX_STALE_SECONDS = 60
    client.force_login(CommissionerFactory())
    assert "5.22" not in register_codes(client, f"{REGISTER}?status=at_risk")
    _hold_render_locks()
    action = Action.objects.get(code="5.22")
    _as_another_process(
        monkeypatch,
        lambda: services.action_record_update(action=action, status=Status.AT_RISK, note="Slipping", by=secretariat),
    )
    DataGeneration.objects.filter(pk=1).update(changed_at=None)
    assert "5.22" in register_codes(client, f"{REGISTER}?status=at_risk")


# --- rendering ahead --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_commit_renders_the_pages_read_recently_ahead(settings, django_assert_num_queries):
    """After the secretariat's change, the commissioner's next dashboard and register come from the cache
    (rendered by the writer's process after its response), and show the change."""
    settings.FRAGMENT_PRERENDER_LIMIT = 10
    action = _overdue_action()
    secretariat, commissioner = signed_in(SecretariatFactory()), signed_in(CommissionerFactory())
    assert register_codes(commissioner) == {"1.1.1"} and overdue_heading(commissioner) == "1"
    with CaptureQueriesContext(connection) as queries:  # no action, partner or filter query
        assert register_codes(commissioner) == {"1.1.1"}
    register_cached = len(queries)  # counted now: the next request empties the log
    with CaptureQueriesContext(connection) as queries:
        assert overdue_heading(commissioner) == "1"
    dashboard_cached = len(queries)
    _record_on_track(secretariat, action)
    # As many queries as a page served from the cache: the fragments were ready.
    with django_assert_num_queries(register_cached):
        assert register_codes(commissioner) == set()
    with django_assert_num_queries(dashboard_cached):
        assert overdue_heading(commissioner) == "0"


@pytest.mark.django_db(transaction=True)
def test_rendering_ahead_changes_nothing(settings):
    """A render ahead replays a past request (here ?plan= of a plan the person has since left): whatever the
    view writes on the way (the remembered plan) is rolled back, and the data generation does not move."""
    settings.FRAGMENT_PRERENDER_LIMIT = 10
    first, second = (PlanFactory(title=title) for title in ("First plan", "Second plan"))
    for plan in (first, second):
        ActionFactory(objective=ObjectiveFactory(priority=PriorityFactory(plan=plan)))
    person = CommissionerFactory()
    commissioner = signed_in(person)
    main(commissioner.get(DASHBOARD, {"plan": first.slug}))
    main(commissioner.get(DASHBOARD, {"plan": second.slug}))
    # The person chooses a plan in the switcher (pages no longer remember a plan on GET).
    # (Choosing the default plan remembers nothing: choose the other one.)
    chosen = second if default_plan([first, second]) == first else first
    commissioner.post(reverse("priorities:plan-choose"), {"plan": chosen.slug, "next": DASHBOARD})
    remembered = list(PlanChoice.objects.values_list("user", "plan"))
    assert remembered == [(person.pk, chosen.pk)]
    _committed_elsewhere()
    generation = DataGeneration.objects.get(pk=1).value
    assert caching.prerender() == 2  # both dashboards, whichever plan each showed
    assert list(PlanChoice.objects.values_list("user", "plan")) == remembered
    assert DataGeneration.objects.get(pk=1).value == generation


def test_recipes_keep_the_most_recent_fragments_within_the_limit(client, plan5, settings):
    settings.FRAGMENT_PRERENDER_LIMIT = 2
    client.force_login(CommissionerFactory())
    for status in ("at_risk", "on_track", "completed"):
        client.get(REGISTER, {"status": status})
    recipes = list(cache.get(caching.RECIPES_KEY).values())
    assert [recipe["query"] for recipe in recipes] == ["status=on_track", "status=completed"]
    assert {recipe["name"] for recipe in recipes} == {"register-table"}


def test_nothing_is_rendered_ahead_for_a_person_no_longer_active(client, plan5, settings):
    settings.FRAGMENT_PRERENDER_LIMIT = 10
    person = CommissionerFactory()
    client.force_login(person)
    client.get(DASHBOARD)
    _committed_elsewhere()
    assert caching.prerender() == 1
    _committed_elsewhere()
    person.is_active = False
    person.save()
    assert caching.prerender() == 0


def _committed_elsewhere():
    """The shared generation goes up as another process's commit makes it (with its time), nothing else."""
    from django.db.models import F
    from django.db.models.functions import Now

    DataGeneration.objects.filter(pk=1).update(value=F("value") + 1, changed_at=Now())
