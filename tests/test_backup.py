"""A backup is only as good as its restore: dump the database, restore it into an empty one, find everything."""

import os
import shutil
import subprocess

import psycopg2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from priorities.models import Action, ProgressUpdate

pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="Backups are made with pg_dump/pg_restore: this test needs DATABASE_URL to point at PostgreSQL.",
    ),
    pytest.mark.skipif(
        not (shutil.which("pg_dump") and shutil.which("pg_restore")),
        reason="pg_dump and pg_restore (the PostgreSQL client) are not installed.",
    ),
]


def _pg_args(settings_dict):
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", settings_dict["HOST"]]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", settings_dict["USER"]]
    return args


@pytest.fixture
def pg_env(settings):
    env = dict(os.environ)
    if connection.settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = connection.settings_dict["PASSWORD"]
    return env


@pytest.fixture
def restored_name():
    name = f"{connection.settings_dict['NAME']}_restore_{os.getpid()}"
    yield name
    # Whatever happened, leave no restored copy behind.
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _rows(cursor_or_qs_rows):
    return [tuple(row) for row in cursor_or_qs_rows]


@pytest.mark.django_db(transaction=True)
def test_a_dump_restores_into_an_empty_database_with_every_action_and_update(settings, pg_env, restored_name, tmp_path):
    settings.DEBUG = True
    call_command(
        "generate_load_data",
        "--actions=40",
        "--updates=400",
        "--organisations=6",
        "--users=12",
        "--plans=2",
        stdout=open(os.devnull, "w"),
    )
    actions = list(Action.objects.order_by("pk").values_list("pk", "code", "title", "status", "last_update_id"))
    updates = list(ProgressUpdate.objects.order_by("pk").values_list("pk", "action_id", "status", "note", "created_at"))
    assert len(actions) == 40 and len(updates) == 400

    source = connection.settings_dict
    dump = tmp_path / "plantracker.dump"
    pg = _pg_args(source)
    subprocess.run(["pg_dump", *pg, "-Fc", "--no-owner", "-f", str(dump), source["NAME"]], check=True, env=pg_env)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored_name}"')
    subprocess.run(
        ["pg_restore", *pg, "--no-owner", "--exit-on-error", "-d", restored_name, str(dump)], check=True, env=pg_env
    )

    restored = psycopg2.connect(
        dbname=restored_name,
        host=source.get("HOST") or None,
        port=source.get("PORT") or None,
        user=source.get("USER") or None,
        password=source.get("PASSWORD") or None,
    )
    try:
        with restored.cursor() as cursor:
            cursor.execute("SELECT id, code, title, status, last_update_id FROM priorities_action ORDER BY id")
            restored_actions = _rows(cursor.fetchall())
            cursor.execute("SELECT id, action_id, status, note, created_at FROM priorities_progressupdate ORDER BY id")
            restored_updates = _rows(cursor.fetchall())
            # The restored sequence continues after the restored rows: new updates will not collide.
            cursor.execute("SELECT last_value FROM priorities_progressupdate_id_seq")
            sequence = cursor.fetchone()[0]
    finally:
        restored.close()

    assert len(restored_actions) == len(actions)
    assert len(restored_updates) == len(updates)
    assert restored_actions == _rows(actions)
    assert restored_updates == _rows(updates)
    assert sequence >= max(pk for pk, *_ in updates)
