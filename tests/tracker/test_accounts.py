"""Accounts people manage themselves: password rules, reset, change, two-step sign-in, the security log."""

import base64
import datetime
import logging
import re
import time
from binascii import unhexlify

import pyotp
import pytest
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PartnerFactory, SecretariatFactory
from tracker.account_views import PENDING_SESSION_KEY, SETUP_SESSION_KEY
from tracker.accounts import two_step_enrol

PASSWORD = "correct horse battery"
NEW_PASSWORD = "plum tractor umbrella 47"


@pytest.fixture(autouse=True)
def _eager_tasks(settings):
    from tracker.celery import app

    # Celery read its settings once: switch the app itself to run tasks inline (as tests/tracker/test_people.py).
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    # django-otp's own back-off between attempts (1 s, 2 s, ...) is not under test; django-axes' lock-out is.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    yield
    app.conf.task_always_eager = eager


def security_log(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "tracker.security"]


def totp_for(hex_key, offset=0):
    return pyotp.TOTP(base64.b32encode(unhexlify(hex_key)).decode()).at(time.time() + offset)


def enrol(user):
    """An authenticator app and recovery codes for `user`, through the service; returns (device, codes)."""
    from django_otp.util import random_hex

    key = random_hex(20)
    return two_step_enrol(user=user, key=key, token=totp_for(key), client="test")


def verified_login(client, user, device):
    """force_login plus what a right code leaves in the session."""
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()


# --- password rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("aaaaaaaaaaaa", "repeated"),
        ("abababababab", "repeated"),
        ("abcdefghijklmn", "sequence"),
        ("zyxwvutsrqpon1", "sequence"),
        ("qwertyuiopasdf", "sequence"),
        ("Password2024!!", "common"),
        ("P@ssw0rd", "common"),
    ],
)
def test_weak_passwords_are_refused_in_plain_words(password, words):
    with pytest.raises(ValidationError) as error:
        validate_password(password)
    assert any(words in message for message in error.value.messages), error.value.messages


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "what"),
    [
        ("ada-lovelace-rocks", "your username"),
        ("Augusta was here 42", "your first name"),
        ("my name is KING!!", "your last name"),
        ("analytical countess engine", "your email address"),
    ],
)
def test_a_password_with_the_persons_own_details_is_refused(password, what):
    user = PartnerFactory.build(username="ada-lovelace", first_name="Augusta", last_name="King", email="countess@x.org")
    with pytest.raises(ValidationError) as error:
        validate_password(password, user)
    assert f"contains {what}" in " ".join(error.value.messages)


def test_a_long_unusual_password_passes_every_rule():
    validate_password(NEW_PASSWORD)


def _password_form(client, which, user):
    """The page of one of the three forms that choose a password, for `user`: (its address, its HTML)."""
    if which == "change":
        client.force_login(user)
        url = reverse("password-change")
    elif which == "reset":
        url = client.get(reset_link(user))["Location"]
    else:
        from tracker.emails import invitation_token
        from tracker.services import partner_invite

        invitation = partner_invite(
            email="nina@example.org", organisation=user.organisation, first_name="Nina", last_name="N", by=user
        )
        url = reverse("accept-invitation", args=[invitation_token(invitation)])
    return url, client.get(url).content.decode()


def _errors(html):
    """The refusals a page shows: (in the error summary, under the fields)."""
    summary = re.findall(r'<li><a href="#[^"]*">([^<]*)</a></li>', html)
    fields = re.findall(r'<span class="govuk-visually-hidden">Error:</span> ([^<]*)', html)
    return summary, fields


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["change", "reset", "invitation"])
def test_each_password_rule_is_listed_once_and_each_refusal_said_once_on_the_new_password(client, partner_a, which):
    url, html = _password_form(client, which, partner_a)
    hint = html.split('id="id_new_password1_helptext"')[1].split("</div>")[0]
    rules = re.findall(r"<li>([^<]*)</li>", hint)
    assert len(rules) == 6 and len(set(rules)) == 6, rules
    # Each subject once: no rule said twice in other words (Django's own list overlapped ours).
    for subject in ("common", "name", "12 characters", "only digits", "sequence", "repeated"):
        assert sum(subject in rule for rule in rules) == 1, (subject, rules)
    assert html.count("12 characters") == 1  # not again in the page's own text
    data = {"new_password1": "password", "new_password2": "password"}
    if which == "change":
        data["old_password"] = PASSWORD
    summary, fields = _errors(client.post(url, data).content.decode())
    assert (
        summary
        == fields
        == [
            "This password is too short: use at least 12 characters.",
            "This password is one of the most common passwords, which attackers try first.",
        ]
    )
    html = client.post(url, {**data, "new_password1": "Password2024!!", "new_password2": "Password2024!!"})
    summary, fields = _errors(html.content.decode())
    assert len(summary) == len(fields) == 1 and "common one with a few letters" in summary[0]
    # The refusal is on the new password, which the summary links to; the second box only says if they match.
    assert '<a href="#id_new_password1">' in html.content.decode()
    summary, _ = _errors(client.post(url, {**data, "new_password1": NEW_PASSWORD}).content.decode())
    assert summary == ["The two passwords are not the same. Type the new password again."]


@pytest.mark.django_db
def test_a_password_too_like_a_detail_is_refused_once_naming_it():
    user = PartnerFactory.build(username="ada-lovelace", first_name="Augusta", last_name="King", email="countess@x.org")
    with pytest.raises(ValidationError) as error:
        validate_password("kountess@x.org", user)
    assert error.value.messages == [
        "This password is too like your email address, which others can guess. Choose one that is not."
    ]


# --- forgot your password --------------------------------------------------------------------------


def ask_for_reset(client, email, address="10.1.1.1"):
    return client.post(reverse("password-reset"), {"email": email}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_the_sign_in_page_links_to_the_reset(client):
    assert reverse("password-reset") in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_reset_answers_the_same_for_unknown_addresses_and_emails_only_real_accounts(client, partner_a, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    known = ask_for_reset(client, partner_a.email.upper())
    unknown = ask_for_reset(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("password-reset-sent")
    assert [m.to for m in mail.outbox] == [[partner_a.email]]
    assert "/accounts/password-reset/" in mail.outbox[0].body
    assert f"password reset requested: email={partner_a.email} from=10.1.1.1" in security_log(caplog)


@pytest.mark.django_db
def test_the_reset_view_does_the_same_work_whatever_the_address(client, partner_a, django_capture_on_commit_callbacks):
    """No enumeration by timing: the request never looks the account up (the Celery worker does)."""
    from unittest import mock

    with mock.patch("tracker.tasks.send_password_reset.delay") as delay:
        counts = []
        for email in (partner_a.email, "nobody@example.org"):
            with CaptureQueriesContext(connection) as queries:
                ask_for_reset(client, email)
            assert not [q for q in queries if "tracker_user" in q["sql"]]
            counts.append(len(queries))
    assert counts[0] == counts[1]
    assert [c.args[0] for c in delay.call_args_list] == [partner_a.email, "nobody@example.org"]


@pytest.mark.django_db
def test_reset_requests_are_limited_per_address_and_per_client(client, partner_a, settings, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    for n in range(4):
        assert ask_for_reset(client, partner_a.email, address=f"10.0.0.{n}").status_code == 302
    # The fourth for one address is answered the same, but not sent.
    assert len(mail.outbox) == settings.PASSWORD_RESET_LIMIT_PER_ADDRESS == 3
    assert any("too many for this address" in m for m in security_log(caplog))
    for n in range(settings.PASSWORD_RESET_LIMIT_PER_CLIENT - 1):
        assert ask_for_reset(client, f"someone{n}@example.org", address="10.0.0.0").status_code == 302
    response = ask_for_reset(client, "one-more@example.org", address="10.0.0.0")
    assert response.status_code == 429
    assert "Too many reset requests" in response.content.decode()
    assert ask_for_reset(client, "one-more@example.org", address="10.0.0.99").status_code == 302


def reset_link(user, generator=default_token_generator):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password-reset-confirm", kwargs={"uidb64": uid, "token": generator.make_token(user)})


def set_new_password(client, link, password=NEW_PASSWORD):
    form_url = client.get(link)["Location"]
    return client.post(form_url, {"new_password1": password, "new_password2": password})


@pytest.mark.django_db
def test_a_reset_sets_the_password_ends_every_session_logs_and_tells_the_person(
    client, partner_a, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="tracker.security")
    elsewhere = Client()
    elsewhere.force_login(partner_a)
    assert elsewhere.get(reverse("account")).status_code == 200
    link = reset_link(partner_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = set_new_password(client, link)
    assert response.status_code == 302 and response["Location"] == reverse("password-reset-complete")
    partner_a.refresh_from_db()
    assert partner_a.check_password(NEW_PASSWORD)
    assert elsewhere.get(reverse("account")).status_code == 302  # signed out there
    assert "password reset completed: user=partner-a from=127.0.0.1" in security_log(caplog)
    assert mail.outbox[-1].to == [partner_a.email] and "was reset" in mail.outbox[-1].subject
    # The link works once.
    again = client.get(link)
    assert "This link does not work" in again.content.decode()


@pytest.mark.django_db
def test_a_reset_link_expires_after_two_hours(client, partner_a):
    class ThreeHoursAgo(PasswordResetTokenGenerator):
        def _now(self):
            return datetime.datetime.now() - datetime.timedelta(hours=2, minutes=1)

    response = client.get(reset_link(partner_a, ThreeHoursAgo()))
    assert response.status_code == 200 and "This link does not work" in response.content.decode()


@pytest.mark.django_db
def test_a_weak_new_password_is_refused_and_changes_nothing(client, partner_a):
    response = set_new_password(client, reset_link(partner_a), password="aaaaaaaaaaaaaa")
    assert response.status_code == 400
    assert "repeated" in response.content.decode()
    partner_a.refresh_from_db()
    assert partner_a.check_password(PASSWORD)


# --- the account page and changing your password -----------------------------------------------------


@pytest.mark.django_db
def test_the_account_page_shows_details_read_only(client, partner_a):
    client.force_login(partner_a)
    html = client.get(reverse("account")).content.decode()
    assert partner_a.organisation.name in html and "Partner organisation" in html
    assert "The secretariat keeps these details" in html
    assert reverse("two-step-setup") in html and reverse("password-change") in html
    assert 'id="notifications"' in html


@pytest.mark.django_db
def test_changing_the_password_needs_the_current_one(client, partner_a, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.INFO, logger="tracker.security")
    elsewhere = Client()
    elsewhere.force_login(partner_a)
    client.force_login(partner_a)
    url = reverse("password-change")
    wrong = client.post(url, {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 400
    partner_a.refresh_from_db()
    assert partner_a.check_password(PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        right = client.post(
            url, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        )
    assert right.status_code == 302
    partner_a.refresh_from_db()
    assert partner_a.check_password(NEW_PASSWORD)
    assert client.get(reverse("account")).status_code == 200  # this session goes on
    assert elsewhere.get(reverse("account")).status_code == 302  # the others end
    assert "password changed: user=partner-a from=127.0.0.1" in security_log(caplog)
    assert "password was changed" in mail.outbox[-1].subject


# --- two-step sign-in --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_enrolment_with_a_code_from_the_app(client, partner_a, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.INFO, logger="tracker.security")
    client.force_login(partner_a)
    page = client.get(reverse("two-step-setup")).content.decode()
    key = client.session[SETUP_SESSION_KEY]
    assert "data:image/svg+xml" in page
    assert base64.b32encode(unhexlify(key)).decode()[:4] in page  # the key as text
    wrong = client.post(reverse("two-step-setup"), {"token": "000000" if totp_for(key) != "000000" else "111111"})
    assert wrong.status_code == 400 and not TOTPDevice.objects.filter(user=partner_a).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("two-step-setup"), {"token": totp_for(key)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=partner_a).confirmed
    assert sorted(StaticToken.objects.filter(device__user=partner_a).values_list("token", flat=True)) == sorted(codes)
    assert "two-step enrolled: user=partner-a from=127.0.0.1" in security_log(caplog)
    assert "Two-step sign-in was set up" in mail.outbox[-1].subject
    assert client.get(reverse("account")).status_code == 200


def sign_in(client, username, password=PASSWORD, address="10.2.2.2"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def give_code(client, code, address="10.2.2.2"):
    return client.post(reverse("two-step-verify"), {"token": code}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_with_an_app_the_password_alone_signs_nobody_in(client, partner_a):
    device, _ = enrol(partner_a)
    response = sign_in(client, "partner-a")
    assert response.status_code == 302 and response["Location"] == reverse("two-step-verify")
    assert "_auth_user_id" not in client.session and PENDING_SESSION_KEY in client.session
    assert client.get(reverse("account")).status_code == 302
    assert give_code(client, totp_for(device.key, offset=30)).status_code == 302
    assert client.session["_auth_user_id"] == str(partner_a.pk)
    assert client.get(reverse("account")).status_code == 200


@pytest.mark.django_db
def test_wrong_codes_count_towards_the_sign_in_lock_out(client, partner_a, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    device, _ = enrol(partner_a)
    sign_in(client, "partner-a")
    for _ in range(4):
        assert give_code(client, "12345").status_code == 400
    # Signing in with the password again does not clear the count: nobody was signed in.
    sign_in(client, "partner-a")
    assert give_code(client, "12345").status_code == 429
    assert "_auth_user_id" not in client.session
    assert sign_in(client, "partner-a").status_code == 429
    assert "two-step failed: user=partner-a from=10.2.2.2" in security_log(caplog)
    assert any(m.startswith("locked out: user=partner-a") for m in security_log(caplog))


@pytest.mark.django_db
def test_each_recovery_code_works_once(client, partner_a, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    _, codes = enrol(partner_a)
    sign_in(client, "partner-a")
    assert give_code(client, codes[0].upper()).status_code == 302
    client.post(reverse("logout"))
    sign_in(client, "partner-a")
    assert give_code(client, codes[0]).status_code == 400
    assert give_code(client, codes[1]).status_code == 302
    assert StaticToken.objects.filter(device__user=partner_a).count() == 8
    assert "recovery code used: user=partner-a from=10.2.2.2 left=9" in security_log(caplog)


@pytest.mark.django_db
def test_new_recovery_codes_replace_the_old_ones(client, partner_a):
    device, codes = enrol(partner_a)
    verified_login(client, partner_a, device)
    response = client.post(reverse("two-step-recovery-codes"))
    new = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(codes)
    assert not StaticToken.objects.filter(token__in=codes).exists()


@pytest.mark.django_db
def test_staff_without_a_second_step_must_enrol_before_anything_else(client, secretariat, partner_a, settings):
    settings.TWO_STEP_ROLES = ["secretariat", "commissioner"]
    client.force_login(secretariat)
    for url in ("/", reverse("priorities:action-list"), reverse("account"), "/admin/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reverse("two-step-setup"), url
    assert client.get(reverse("two-step-setup")).status_code == 200
    assert client.get(reverse("healthz")).status_code in (200, 503)
    partner = Client()
    partner.force_login(partner_a)
    assert partner.get(reverse("account")).status_code == 200  # optional for partners


@pytest.mark.django_db
def test_the_secretariat_can_require_it_for_an_organisation(client, secretariat, partner_a, partner_b, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    client.force_login(secretariat)
    org = partner_a.organisation
    assert client.post(reverse("organisation-two-step", args=[org.slug]), {"required": "1"}).status_code == 302
    org.refresh_from_db()
    assert org.two_step_required
    assert "two-step required for organisation=org-a by=sec from=127.0.0.1" in security_log(caplog)
    a, b = Client(), Client()
    a.force_login(partner_a)
    b.force_login(partner_b)
    assert a.get(reverse("account"))["Location"] == reverse("two-step-setup")
    assert b.get(reverse("account")).status_code == 200
    turn_off = a.post(reverse("two-step-turn-off"), {"password": PASSWORD})
    assert turn_off.status_code == 302  # nothing to turn off yet


@pytest.mark.django_db
def test_the_secretariat_resets_someones_second_step(
    client, secretariat, partner_a, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="tracker.security")
    enrol(partner_a)
    client.force_login(secretariat)
    html = client.get(partner_a.organisation.get_absolute_url()).content.decode()
    assert reverse("user-two-step-reset", args=[partner_a.pk]) in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("user-two-step-reset", args=[partner_a.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=partner_a).exists()
    assert not StaticDevice.objects.filter(user=partner_a).exists()
    assert "two-step reset: user=partner-a by=sec from=127.0.0.1" in security_log(caplog)
    assert "reset your Plan Tracker two-step" in mail.outbox[-1].subject
    # Not their own: that is on their account page.
    enrol(secretariat)
    client.post(reverse("user-two-step-reset", args=[secretariat.pk]))
    assert TOTPDevice.objects.filter(user=secretariat).exists()


@pytest.mark.django_db
def test_turning_it_off_needs_the_password_and_is_refused_where_required(
    client, partner_a, settings, django_capture_on_commit_callbacks
):
    device, _ = enrol(partner_a)
    verified_login(client, partner_a, device)
    assert client.post(reverse("two-step-turn-off"), {"password": "guess"}).status_code == 400
    settings.TWO_STEP_ROLES = ["partner"]
    assert client.post(reverse("two-step-turn-off"), {"password": PASSWORD}).status_code == 400
    assert TOTPDevice.objects.filter(user=partner_a).exists()
    settings.TWO_STEP_ROLES = []
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("two-step-turn-off"), {"password": PASSWORD}).status_code == 302
    assert not TOTPDevice.objects.filter(user=partner_a).exists()
    assert "turned off" in mail.outbox[-1].subject


@pytest.mark.django_db
def test_a_session_from_before_enrolment_must_verify_before_changing_the_second_step(client, partner_a, settings):
    client.force_login(partner_a)
    enrol(partner_a)  # in another session
    assert client.get(reverse("two-step-setup"))["Location"] == reverse("two-step-verify")
    assert client.post(reverse("two-step-recovery-codes"))["Location"] == reverse("two-step-verify")
    settings.TWO_STEP_ROLES = ["partner"]
    assert client.get(reverse("account"))["Location"] == reverse("two-step-verify")


@pytest.mark.django_db
def test_the_admin_action_resets_through_the_service(client, caplog):
    caplog.set_level(logging.INFO, logger="tracker.security")
    admin_user = SecretariatFactory(username="boss", is_staff=True, is_superuser=True)
    someone = SecretariatFactory(username="someone")
    enrol(someone)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:tracker_user_changelist"), {"action": "reset_two_step", "_selected_action": [someone.pk]}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=someone).exists()
    assert "two-step reset: user=someone by=boss from=127.0.0.1" in security_log(caplog)


def test_two_step_roles_come_from_the_environment(tmp_path):
    from tests.tracker.test_settings import run_django

    code = "from django.conf import settings as s; print(','.join(s.TWO_STEP_ROLES) or '-')"
    production = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50, "PLAN_TRACKER_VAR_DIR": str(tmp_path)}
    cases = [
        ({**production}, "secretariat,commissioner"),
        ({**production, "DJANGO_TWO_STEP_ROLES": ""}, "-"),  # set but empty: nobody (load tests)
        ({**production, "DJANGO_TWO_STEP_ROLES": "secretariat, partner"}, "secretariat,partner"),
        ({"DJANGO_DEBUG": "1", "PLAN_TRACKER_VAR_DIR": str(tmp_path)}, "-"),  # the demo stays one step
    ]
    for env, expected in cases:
        result = run_django("shell", "-c", code, **env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split("\n")[-2] == expected, env


@pytest.mark.django_db
def test_the_admin_signs_in_through_plan_trackers_sign_in_with_its_second_step(client):
    response = client.get("/admin/login/?next=/admin/tracker/user/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/tracker/user/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
