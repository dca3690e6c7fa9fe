import pytest

from tests.factories import CommissionerFactory, OrganisationFactory, PartnerFactory, SecretariatFactory


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs seconds per test user; its strength is not under test here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests serve static files as they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    # Each test's database starts afresh (rolled back), so must the cached fragments (tracker/caching.py).
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fragments_rendered_at_once(settings):
    # A render after the response runs in a thread in production: its own connection would not see
    # the test's transaction (tracker/caching.py).
    settings.FRAGMENT_RENDER_IN_THREAD = False
    # A change is on a second person's very next page (tracker/caching.py: no previous fragment is ever
    # served), and commits render nothing ahead; the tests of those two set their own values.
    settings.FRAGMENT_MAX_STALE_SECONDS = 0
    settings.FRAGMENT_PRERENDER_LIMIT = 0


@pytest.fixture
def secretariat(db):
    return SecretariatFactory(username="sec")


@pytest.fixture
def commissioner(db):
    return CommissionerFactory(username="comm")


@pytest.fixture
def org_a(db):
    return OrganisationFactory(name="Organisation A", slug="org-a")


@pytest.fixture
def org_b(db):
    return OrganisationFactory(name="Organisation B", slug="org-b")


@pytest.fixture
def partner_a(org_a):
    return PartnerFactory(username="partner-a", organisation=org_a)


@pytest.fixture
def partner_b(org_b):
    return PartnerFactory(username="partner-b", organisation=org_b)


@pytest.fixture
def plan5(db, django_db_blocker):
    """The published Priority 5 plan, loaded from fixtures/priority5.json."""
    from django.core.management import call_command

    call_command("loaddata", "priority5", verbosity=0)
    from priorities.models import Plan
    from priorities.services import stored_counts_refresh

    stored_counts_refresh()  # loaddata bypasses the services, as bootstrap knows

    return Plan.objects.get(slug="international-collaboration")
