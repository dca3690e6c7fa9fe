"""Settings come from the environment; production refuses to start without a secret key."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_django(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CELERY_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_django("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_settings_from_the_environment(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.ALLOWED_HOSTS, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL,"
        " s.EMAIL_BACKEND, s.TIME_ZONE, s.LANGUAGE_CODE)"
    )
    result = run_django(
        "shell",
        "-c",
        code,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="plans.example.org",
        DATABASE_URL="postgres://u:p@db:5432/plans",
        CELERY_BROKER_URL="redis://redis:6379/0",
        PLAN_TRACKER_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == (
        "False ['plans.example.org'] django.db.backends.postgresql redis://redis:6379/0 "
        "django.core.mail.backends.smtp.EmailBackend Europe/London en-gb"
    )


def test_development_defaults_need_no_servers(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.EMAIL_BACKEND)"
    )
    result = run_django("shell", "-c", code, DJANGO_DEBUG="1", PLAN_TRACKER_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == (
        "django.db.backends.sqlite3 filesystem:// django.core.mail.backends.console.EmailBackend"
    )
    assert (tmp_path / "celery" / "in").is_dir()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8001"}, "http://127.0.0.1:8001"),
        ({"HOST": "192.0.2.7", "PORT": "9000"}, "http://192.0.2.7:9000"),
        ({"HOST": "::1", "PORT": "9000"}, "http://[::1]:9000"),
        ({"PORT": "8001", "SITE_URL": "https://plans.example.org/"}, "https://plans.example.org"),
    ],
)
def test_links_in_emails_use_the_address_make_run_listens_on(tmp_path, env, expected):
    base = {k: "" for k in ("HOST", "PORT", "SITE_URL")}
    result = run_django(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SITE_URL)",
        DJANGO_DEBUG="1",
        PLAN_TRACKER_VAR_DIR=str(tmp_path),
        **{**base, **env},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_blank_folder_variables_mean_the_defaults(tmp_path):
    """docker-compose passes .env's blank lines as empty values: they must not put var/ or static files in `.`."""
    result = run_django(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.STATIC_ROOT == s.BASE_DIR / 'var' / 'staticfiles')",
        DJANGO_DEBUG="1",
        PLAN_TRACKER_VAR_DIR="",
        DJANGO_STATIC_ROOT="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True"
