import pytest

from tests.api.world import build_world


@pytest.fixture(autouse=True)
def _eager_tasks():
    from tracker.celery import app

    # Celery read its settings once: run tasks inline, so notices and notifications land in mail.outbox.
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def world(db):
    return build_world()
