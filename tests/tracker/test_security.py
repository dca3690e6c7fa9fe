"""Security by default: sign-in lock-out, password rules, session lifetime, headers, the security log."""

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from tracker.security import LAST_SEEN, SIGNED_IN_AT

LOGIN = reverse("login")
ROOT = Path(__file__).resolve().parents[2]


def sign_in(client, username, password, address="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_five_failures_lock_the_account_from_that_address_even_with_the_right_password(client, secretariat, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    for _ in range(4):
        assert sign_in(client, "sec", "wrong password").status_code == 200
    # The fifth failure locks the account for this address.
    assert sign_in(client, "sec", "wrong password").status_code == 429
    response = sign_in(client, "sec", "correct horse battery")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not locked out of the same account.
    assert sign_in(client, "sec", "correct horse battery", address="10.0.0.2").status_code == 302
    messages = [r.getMessage() for r in caplog.records if r.name == "tracker.security"]
    assert any(m.startswith("sign-in failed: user=sec from=10.0.0.1") for m in messages)
    assert any(m.startswith("locked out: user=sec") for m in messages)
    assert any(m.startswith("sign-in: user=sec from=10.0.0.2") for m in messages)


@pytest.mark.django_db
def test_the_lock_lifts_after_15_minutes(client, secretariat):
    import datetime

    from axes.models import AccessAttempt

    for _ in range(5):
        sign_in(client, "sec", "wrong password")
    assert sign_in(client, "sec", "correct horse battery").status_code == 429
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= datetime.timedelta(minutes=16)
        attempt.save()
    assert sign_in(client, "sec", "correct horse battery").status_code == 302


@pytest.mark.parametrize("password", ["short1!", "password1234", "123456789012"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_a_long_uncommon_password_is_accepted():
    validate_password("a long and unusual passphrase 42")


@pytest.mark.django_db
def test_refused_requests_are_logged_with_who_and_where(client, partner_a, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    client.force_login(partner_a)
    assert client.get(reverse("overview:dashboard"), REMOTE_ADDR="10.9.8.7").status_code == 403
    assert "refused: user=partner-a from=10.9.8.7 GET /dashboard/" in [r.getMessage() for r in caplog.records]


@pytest.mark.django_db
def test_a_session_ends_after_two_hours_idle(client, secretariat):
    client.force_login(secretariat)
    assert client.get(reverse("priorities:plan")).status_code == 200
    session = client.session
    session[LAST_SEEN] = int(time.time()) - 2 * 3600 - 5
    session.save()
    response = client.get(reverse("priorities:plan"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert client.get(reverse("priorities:plan")).status_code == 302


@pytest.mark.django_db
def test_a_session_ends_12_hours_after_sign_in_however_active(client, secretariat):
    client.force_login(secretariat)
    session = client.session
    session[SIGNED_IN_AT] = int(time.time()) - 12 * 3600 - 5
    session[LAST_SEEN] = int(time.time())
    session.save()
    response = client.get(reverse("priorities:plan"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


@pytest.mark.django_db
def test_activity_keeps_a_session_alive(client, secretariat):
    client.force_login(secretariat)
    session = client.session
    session[LAST_SEEN] = int(time.time()) - 3600
    session.save()
    assert client.get(reverse("priorities:plan")).status_code == 200
    assert client.session[LAST_SEEN] >= int(time.time()) - 5


@pytest.mark.django_db
def test_security_headers(client, secretariat):
    client.force_login(secretariat)
    response = client.get(reverse("priorities:action-list"))
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
        assert directive in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_style():
    for template in (ROOT / "templates").rglob("*.html"):
        if "emails" in template.parts:
            continue  # email clients need inline styles; they are never served as pages
        text = template.read_text()
        assert " style=" not in text, template
        for script in text.split("<script")[1:]:
            assert script.split(">")[0].strip().startswith(('type="module" src=', "src=")), template


def test_check_deploy_passes_with_only_the_three_variables(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "an-example-secret-key-for-this-test-only-0123456789abcdefghij",
        "DJANGO_ALLOWED_HOSTS": "plans.example.org",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_cookies_are_secure(tmp_path):
    code = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS > 0, s.SECURE_SSL_REDIRECT,"
        " s.SECURE_PROXY_SSL_HEADER is not None)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "plans.example.org",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
    }

    def run(extra):
        return (
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", code],
                cwd=ROOT,
                env={**env, **extra},
                capture_output=True,
                text=True,
                timeout=120,
            )
            .stdout.strip()
            .splitlines()[-1]
        )

    assert run({}) == "True True True True True False"
    # Behind a TLS-terminating proxy: trust its header, and let it do the redirect.
    assert run({"DJANGO_BEHIND_TLS_PROXY": "1", "DJANGO_SECURE_SSL_REDIRECT": "0"}) == "True True True True False True"


def test_a_refused_request_is_logged_as_one_line(client, commissioner, settings):
    import io
    import logging
    import logging.config

    from django.urls import reverse

    from tests.factories import ActionFactory

    logging.config.dictConfig(settings.LOGGING)
    handler = logging.getLogger("django.request").handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        client.force_login(commissioner)
        assert client.get(reverse("priorities:action-edit", args=[ActionFactory().pk])).status_code == 403
        assert client.get("/no-such-page/").status_code == 404
    finally:
        handler.setStream(previous)
    lines = [line for line in stream.getvalue().splitlines() if "sign-in" not in line]
    assert "Traceback" not in stream.getvalue()
    assert len(lines) == 2, lines
    assert "refused: user=" in lines[0] and "GET /actions/" in lines[0]
    assert "Not Found: /no-such-page/" in lines[1]


def _production_shell(code, tmp_path, **extra):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "an-example-secret-key-for-this-test-only-0123456789abcdefghij",
        "DJANGO_ALLOWED_HOSTS": "plans.example.org",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
        **extra,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_hsts_preload_is_off_unless_asked_for(tmp_path):
    code = "from django.conf import settings as s; print(s.SECURE_HSTS_PRELOAD, s.SILENCED_SYSTEM_CHECKS)"
    assert _production_shell(code, tmp_path) == "False ['security.W021']"
    assert _production_shell(code, tmp_path, DJANGO_SECURE_HSTS_PRELOAD="1") == "True []"


def test_the_only_deploy_warning_silenced_is_the_preload_one(tmp_path):
    """Unsilenced, `check --deploy` warns about preload alone: nothing else hides behind the silencing."""
    code = (
        "from django.conf import settings; from django.core import checks;"
        "settings.SILENCED_SYSTEM_CHECKS = [];"
        "print(sorted(m.id for m in checks.run_checks(include_deployment_checks=True) if m.level >= checks.WARNING))"
    )
    assert _production_shell(code, tmp_path) == "['security.W021']"


def test_check_deploy_passes_with_preload_asked_for(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "an-example-secret-key-for-this-test-only-0123456789abcdefghij",
        "DJANGO_ALLOWED_HOSTS": "plans.example.org",
        "PLAN_TRACKER_VAR_DIR": str(tmp_path),
        "DJANGO_SECURE_HSTS_PRELOAD": "1",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
