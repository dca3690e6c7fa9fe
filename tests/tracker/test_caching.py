"""Cached register and dashboard fragments (tracker/caching.py).

Never older than your own writes, behind others' for at most FRAGMENT_MAX_STALE_SECONDS (while one process
renders the new fragment), never shared beyond their audience. The bound itself: test_bounded_staleness.py.
"""

import datetime
import re

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from indicators.services import measurement_import_confirm, measurement_import_store
from priorities.models import Action, ActionPartner, Status
from priorities.services import action_record_update
from tests.factories import (
    ActionFactory,
    ActionPartnerFactory,
    CommissionerFactory,
    MeasureFactory,
    PartnerFactory,
    SecretariatFactory,
    SuccessIndicatorFactory,
)
from tracker import caching
from tracker.models import Organisation, User

REGISTER = reverse("priorities:action-list")
DASHBOARD = reverse("overview:dashboard")


def main(response):
    """The page's main content: what the fragments fill (the header around it is per user)."""
    assert response.status_code == 200
    return response.content.decode().split("<main")[1].split("</main>")[0]


def register_total(client, **query):
    return int(re.search(r'role="status">(\d+) action', main(client.get(REGISTER, query))).group(1))


def test_a_repeated_request_is_served_from_the_cache(client, secretariat, plan5, django_assert_num_queries):
    client.force_login(secretariat)
    first = main(client.get(f"{REGISTER}?sort=code&status=not_started"))
    # session, user, the plans (plan_choice.py), data generation, review count: no action, partner or
    # filter query
    with django_assert_num_queries(5):
        assert main(client.get(f"{REGISTER}?sort=code&status=not_started")) == first
    # The same filters in another order are the same fragment.
    with django_assert_num_queries(5):
        assert main(client.get(f"{REGISTER}?status=not_started&sort=code")) == first


def test_recording_an_update_shows_at_once(client, secretariat, plan5):
    client.force_login(secretariat)
    assert register_total(client, status="at_risk") == 0
    action = Action.objects.get(code="5.22")
    response = client.post(
        reverse("priorities:action-record-update", args=[action.pk]),
        {"status": Status.AT_RISK, "note": "Slipping", "version": action.version},
    )
    assert response.status_code == 302
    assert register_total(client, status="at_risk") == 1
    assert "5.22" in main(client.get(DASHBOARD)).split('id="in-trouble"')[1]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda a: ActionPartner.objects.filter(action=a).delete(), id="partner removed (queryset delete)"),
        pytest.param(lambda a: ActionPartnerFactory(action=a), id="partner added"),
        pytest.param(
            lambda a: setattr(a.objective, "title", "Renamed objective") or a.objective.save(), id="objective"
        ),
        pytest.param(lambda a: Action.objects.filter(pk=a.pk).first().delete(), id="action deleted"),
    ],
)
def test_every_kind_of_write_refreshes_the_register(client, secretariat, plan5, change):
    client.force_login(secretariat)
    action = Action.objects.get(code="5.22")
    before = main(client.get(REGISTER))
    change(action)
    assert main(client.get(REGISTER)) != before


def test_renaming_an_organisation_or_an_owner_refreshes_the_register(client, secretariat, plan5):
    client.force_login(secretariat)
    action = Action.objects.get(code="5.22")
    owner = SecretariatFactory(first_name="Ann", last_name="Owner")
    action.owner = owner
    action.save()
    assert "Ann Owner" in main(client.get(REGISTER))
    owner.last_name = "Other"
    owner.save()
    assert "Ann Other" in main(client.get(REGISTER))
    organisation = ActionPartner.objects.filter(action=action).first().organisation
    organisation.short_name = "Renamed Org"
    organisation.save()
    assert "Renamed Org" in main(client.get(REGISTER))


def test_an_indicator_import_refreshes_the_dashboard(client, commissioner, secretariat, plan5):
    """The import writes with bulk_create, which sends no signal: it says itself that the data changed."""
    MeasureFactory(indicator=SuccessIndicatorFactory(plan=plan5), name="Joint investigations", reporting_period=3)
    client.force_login(commissioner)
    before = main(client.get(DASHBOARD))
    content = b"measure,period start,period end,value,source,note\nJoint investigations,2026-01-01,2026-03-31,17,NCA,\n"
    upload = measurement_import_store(filename="values.csv", content=content, by=secretariat)
    generation = caching.generation()
    measurement_import_confirm(upload=upload, by=secretariat)
    assert caching.generation() != generation
    assert main(client.get(DASHBOARD)) != before


def test_signing_in_does_not_count_as_a_change(secretariat):
    generation = caching.generation()
    secretariat.last_login = timezone.now()
    secretariat.save(update_fields=["last_login"])
    assert caching.generation() == generation


def shared():
    return caching.generation()[0]


@pytest.mark.django_db(transaction=True)
def test_the_shared_generation_goes_up_once_per_committed_transaction():
    secretariat = SecretariatFactory()
    action = ActionFactory()
    before = shared()
    # An update writes the action, a progress update and a change record: one increment, at commit.
    action_record_update(action=action, status=Status.ON_TRACK, note="Fine", by=secretariat)
    assert shared() == before + 1
    with pytest.raises(RuntimeError), transaction.atomic():
        action_record_update(action=action, status=Status.AT_RISK, note="Oh", by=secretariat)
        raise RuntimeError("rolled back")
    assert shared() == before + 1


@pytest.mark.django_db(transaction=True)
def test_another_process_sees_a_change_when_it_commits(client, monkeypatch):
    """Another web process knows nothing of this one's writes until the shared generation goes up."""
    secretariat = SecretariatFactory()
    action = ActionFactory()
    client.force_login(secretariat)
    assert register_total(client, status="on_track") == 0
    with transaction.atomic():
        local = caching._local_generation
        action_record_update(action=action, status=Status.ON_TRACK, note="Fine", by=secretariat)
        # As another process would be before the commit: the same generations, nothing of its own pending,
        # the cached fragment.
        monkeypatch.setattr(caching, "_local_generation", local)
        monkeypatch.setattr(caching, "_own", {**caching._own, "pending": False})
        assert register_total(client, status="on_track") == 0
    assert register_total(client, status="on_track") == 1


def test_partners_never_get_another_organisations_fragment(client, plan5):
    europol = PartnerFactory(organisation=Organisation.objects.get(slug="europol"))
    cps = PartnerFactory(organisation=Organisation.objects.get(slug="cps"))
    client.force_login(europol)
    europol_page = main(client.get(REGISTER))
    client.force_login(cps)
    cps_page = main(client.get(REGISTER))
    assert europol_page != cps_page
    assert "5.21" in europol_page and "5.21" not in cps_page


def test_fragments_hold_nothing_per_user(client, plan5):
    """Two people of one audience share the fragments; each page still names its own user."""
    CommissionerFactory(username="comm-ann")
    CommissionerFactory(username="comm-bob")
    pages = {}
    for username in ("comm-ann", "comm-bob"):
        client.force_login(User.objects.get(username=username))
        pages[username] = client.get(REGISTER).content.decode()
        assert f"Signed in as {username}" in pages[username]
    assert "comm-ann" not in pages["comm-bob"] and "comm-bob" not in pages["comm-ann"]
    assert main_fragments(pages["comm-ann"]) == main_fragments(pages["comm-bob"])
    assert "csrfmiddlewaretoken" not in main_fragments(pages["comm-ann"])


def main_fragments(page):
    """The register's two cached fragments, as they appear in the page."""
    filters = page.split('id="action-filters"')[1].split("</form>")[0]
    table = page.split('id="action-table"')[1]
    return filters + table.split("</main>")[0]


def test_the_date_is_part_of_the_key(client, commissioner, plan5, monkeypatch):
    action = Action.objects.get(code="5.22")
    action.next_update_due = timezone.localdate() + datetime.timedelta(days=1)
    action.save()
    client.force_login(commissioner)
    assert register_total(client, overdue="on") == 0
    tomorrow = timezone.localdate() + datetime.timedelta(days=2)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)
    assert register_total(client, overdue="on") == 1


def test_a_cache_outage_costs_speed_not_the_page(client, secretariat, plan5, caplog):
    unreachable = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    client.force_login(secretariat)
    with override_settings(CACHES=unreachable):
        assert register_total(client) == Action.objects.count()
        assert "Dashboard" in main(client.get(DASHBOARD))
    assert "fragment cache unavailable" in caplog.text


def test_generate_load_data_refreshes_pages(client, secretariat, settings):
    settings.DEBUG = True
    client.force_login(secretariat)
    assert register_total(client) == 0
    call_command("generate_load_data", actions=20, updates=40, organisations=3, users=4, plans=1, verbosity=0)
    assert register_total(client) == 20


def _fragment_keys():
    from django.core.cache import cache

    return {key for key in cache._cache if ":fragment:" in key}


@pytest.mark.parametrize("page", [REGISTER, DASHBOARD])
def test_junk_parameters_and_invalid_values_create_no_cache_entries(client, secretariat, plan5, page):
    from django.core.cache import cache

    cache.clear()
    client.force_login(secretariat)
    main(client.get(page))
    known = _fragment_keys()
    assert known
    for query in (
        {"utm": "x"},
        {"junk1": "1", "junk2": "2"},
        {"since": "not a date"},
        {"status": "no such status"},
        {"page": "999999999"},
        {"sort": "no_such_column"},
        {"per_page": "-1"},
    ):
        assert client.get(page, query).status_code == 200
    assert _fragment_keys() == known


def test_the_same_cleaned_filters_share_one_entry(client, secretariat, plan5):
    from django.core.cache import cache

    cache.clear()
    client.force_login(secretariat)
    main(client.get(REGISTER, {"q": "victim"}))
    known = _fragment_keys()
    main(client.get(REGISTER, {"q": "  victim "}))
    assert _fragment_keys() == known


# --- after a change: the previous fragment while one process renders the new one, within the bound ----


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch):
    # A transactional test before this one may have committed generations that its flush took back.
    monkeypatch.setattr(caching, "_own", {"committed": 0, "pending": False})


@pytest.fixture
def within_the_bound(settings):
    """A bound these tests never reach (the suite's is 0): they are about what happens before it."""
    settings.FRAGMENT_MAX_STALE_SECONDS = 60


def _as_another_process(monkeypatch, change):
    """Make `change` as another web process would: its data visible here, the shared generation bumped
    (and its time recorded) at its commit, nothing in this process's own bookkeeping (its local
    generation, its pending writes)."""
    local, committed = caching._local_generation, caching._own["committed"]
    change()
    caching._bump_shared()  # what that process's commit does
    monkeypatch.setattr(caching, "_local_generation", local)
    # The test's own writes (its factories) are never committed: this "process" has none pending.
    monkeypatch.setattr(caching, "_own", {"committed": committed, "pending": False})


def _hold_render_lock(name):
    """Take the render lock of every cached `name` fragment, as a process busy rendering it would."""
    from django.core.cache import cache

    latest = [key.split(":", 2)[2] for key in cache._cache if f":fragment-latest:{name}:" in key]
    assert latest
    for key in latest:
        assert cache.add(f"fragment-lock:{key}", "another process", 30)
    return [f"fragment-lock:{key}" for key in latest]


def _mark_at_risk(code):
    action = Action.objects.get(code=code)
    return lambda: action_record_update(action=action, status=Status.AT_RISK, note="Slipping", by=SecretariatFactory())


def test_a_reader_gets_the_previous_fragment_while_another_process_renders(
    client, secretariat, plan5, monkeypatch, within_the_bound
):
    from django.core.cache import cache

    client.force_login(secretariat)
    assert register_total(client, status="at_risk") == 0
    _as_another_process(monkeypatch, _mark_at_risk("5.22"))
    locks = _hold_render_lock("register-table")
    # The change is committed, but a render is under way elsewhere: the previous fragment, at once.
    assert register_total(client, status="at_risk") == 0
    assert register_total(client, status="at_risk") == 0
    for lock in locks:
        cache.delete(lock)  # that render ended without storing anything (say, its process died)
    # This request takes the lock, is answered with the previous fragment, and its process renders the
    # new one once the response has gone: the next request has it, and the lock is free again.
    assert register_total(client, status="at_risk") == 0
    assert register_total(client, status="at_risk") == 1
    assert not [key for key in cache._cache if ":fragment-lock:" in key]


@pytest.mark.django_db(transaction=True)
def test_the_writers_own_next_page_shows_the_change_on_any_process(client, monkeypatch, within_the_bound):
    """A person's committed write is in their session: no process serves them a fragment older than it."""
    from django.test import Client

    writer = SecretariatFactory(username="sec-one")
    action = ActionFactory()
    other_reader = Client()
    other_reader.force_login(SecretariatFactory(username="sec-two"))
    client.force_login(writer)
    assert register_total(client, status="at_risk") == 0
    assert register_total(other_reader, status="at_risk") == 0
    local, committed = caching._local_generation, caching._own["committed"]
    response = client.post(
        reverse("priorities:action-record-update", args=[action.pk]),
        {"status": Status.AT_RISK, "note": "Slipping", "version": action.version},
    )
    assert response.status_code == 302
    # The next requests go to another process: it knows nothing of the write but the shared generation,
    # and some third process is busy rendering the register.
    monkeypatch.setattr(caching, "_local_generation", local)
    monkeypatch.setattr(caching, "_own", {"committed": committed, "pending": False})
    _hold_render_lock("register-table")
    # Someone else may see the previous fragment while that render runs; the writer may not.
    assert register_total(other_reader, status="at_risk") == 0
    assert register_total(client, status="at_risk") == 1


def test_a_process_that_wrote_never_serves_an_older_fragment(client, secretariat, plan5, within_the_bound):
    client.force_login(secretariat)
    assert register_total(client, status="at_risk") == 0
    _mark_at_risk("5.22")()  # this process's write, not committed yet (the test's transaction)
    _hold_render_lock("register-table")
    assert register_total(client, status="at_risk") == 1


def test_with_no_previous_fragment_the_page_is_rendered_at_once(
    client, secretariat, plan5, monkeypatch, within_the_bound
):
    from django.core.cache import cache

    client.force_login(secretariat)
    assert register_total(client, status="at_risk") == 0
    _as_another_process(monkeypatch, _mark_at_risk("5.22"))
    _hold_render_lock("register-table")
    for key in [key for key in cache._cache if ":fragment-latest:" in key]:
        del cache._cache[key]  # evicted
    assert register_total(client, status="at_risk") == 1


def test_a_failed_render_after_the_response_releases_the_lock(
    client, secretariat, plan5, monkeypatch, caplog, within_the_bound
):
    from django.core.cache import cache

    from priorities.views import actions

    client.force_login(secretariat)
    assert register_total(client, status="at_risk") == 0
    _as_another_process(monkeypatch, _mark_at_risk("5.22"))

    def broken(request):
        raise RuntimeError("render failed")

    working = actions._register_table_html
    monkeypatch.setattr(actions, "_register_table_html", broken)
    # Answered with the previous fragment; the render after the response fails, is logged, and lets go.
    assert register_total(client, status="at_risk") == 0
    assert "rendering fragment" in caplog.text and "render failed" in caplog.text
    assert not [key for key in cache._cache if ":fragment-lock:" in key]
    # Only the renderer is put back: monkeypatch.undo() would also bring back this process's bookkeeping
    # from before the test (whatever earlier tests in this worker left), which made the next line flaky.
    monkeypatch.setattr(actions, "_register_table_html", working)
    _as_another_process(monkeypatch, lambda: None)
    assert register_total(client, status="at_risk") == 0  # previous again, rendered after this response
    assert register_total(client, status="at_risk") == 1


def test_the_render_lock_expires_on_its_own(client, secretariat, plan5, monkeypatch, settings, within_the_bound):
    """A process that dies mid-render cannot hold the lock for longer than FRAGMENT_RENDER_LOCK_SECONDS."""
    import time

    from django.core.cache import cache

    from priorities.views import actions

    settings.FRAGMENT_RENDER_LOCK_SECONDS = 7
    client.force_login(secretariat)
    assert register_total(client, status="at_risk") == 0
    _as_another_process(monkeypatch, _mark_at_risk("5.22"))
    seen = []
    render = actions._register_table_html

    def watching(request):
        locks = [key for key in cache._cache if ":fragment-lock:fragment-latest:register-table:" in key]
        seen.extend(cache._expire_info[key] - time.time() for key in locks)
        return render(request)

    monkeypatch.setattr(actions, "_register_table_html", watching)
    register_total(client, status="at_risk")
    assert len(seen) == 1 and 0 < seen[0] <= 7


@pytest.mark.django_db(transaction=True)
def test_in_production_the_render_after_the_response_runs_in_its_own_thread(
    client, settings, monkeypatch, within_the_bound
):
    """The process goes on answering while it renders; the thread stores the fragment and lets the lock go."""
    import threading

    from django.core.cache import cache

    settings.FRAGMENT_RENDER_IN_THREAD = True
    client.force_login(SecretariatFactory(username="sec-one"))
    action = ActionFactory()
    assert register_total(client, status="at_risk") == 0
    _as_another_process(monkeypatch, _mark_at_risk(action.code))
    assert register_total(client, status="at_risk") == 0  # the previous fragment; a thread renders the new one
    for thread in threading.enumerate():
        if thread.name == "fragment-render":
            thread.join(timeout=30)
    assert not [key for key in cache._cache if ":fragment-lock:" in key]
    assert register_total(client, status="at_risk") == 1
