"""Accounts in the browser: forgot-password from the sign-in page, two-step enrolment and sign-in, recovery codes."""

import base64
import datetime
import re
import time
from binascii import unhexlify
from urllib.parse import urlparse

import pyotp
import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.util import random_hex
from playwright.sync_api import expect

from tests.factories import PartnerFactory, SecretariatFactory
from tracker.accounts import two_step_enrol

PASSWORD = "correct horse battery"
NEW_PASSWORD = "plum tractor umbrella 47"


@pytest.fixture(autouse=True)
def _accounts_settings(settings):
    from tracker.celery import app

    # Celery read its settings once: switch the app itself to run tasks inline (as tests/tracker/test_people.py).
    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    # django-otp's own back-off between attempts (1 s, 2 s, ...) is not under test; django-axes' lock-out is.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    yield
    app.conf.task_always_eager = eager


def sign_in(page, live_server, username, password=PASSWORD):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def sign_out(page):
    page.get_by_role("button", name=re.compile("^Sign out")).click()
    expect(page.get_by_role("heading", name="Sign in to Plan Tracker")).to_be_visible()


def ask_for_reset(page, live_server, email):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    return page.locator("main").inner_text()


def test_reset_from_the_sign_in_page_to_signing_in_with_the_new_password(
    live_server, page, transactional_db, mailoutbox
):
    PartnerFactory(username="pat", email="pat@example.org")
    answer = ask_for_reset(page, live_server, "pat@example.org")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["pat@example.org"]
    link = re.search(r"https?://\S+/accounts/password-reset/\S+/", mailoutbox[0].body).group(0)

    # An unknown address gets the very same answer, and no email goes anywhere.
    assert ask_for_reset(page, live_server, "nobody@example.org") == answer
    assert len(mailoutbox) == 1

    page.goto(live_server.url + urlparse(link).path)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill("aaaaaaaaaaaaaa")
    page.get_by_label("New password confirmation").fill("aaaaaaaaaaaaaa")
    page.get_by_role("button", name="Save new password").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page.locator(".govuk-error-summary")).to_contain_text("repeated")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save new password").click()
    expect(page.get_by_role("heading", name="Your password is reset")).to_be_visible()
    assert "was reset" in mailoutbox[-1].subject

    page.get_by_role("link", name="Sign in with your new password").click()
    page.get_by_label("Username").fill("pat")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=re.compile("^Sign out"))).to_be_visible()
    assert "/accounts/login/" not in page.url

    # The link was used: it no longer works.
    page.goto(live_server.url + urlparse(link).path)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()


def test_an_expired_reset_link_is_refused(live_server, page, transactional_db):
    class TwoHoursAgo(PasswordResetTokenGenerator):
        def _now(self):
            return datetime.datetime.now() - datetime.timedelta(hours=2, minutes=1)

    user = PartnerFactory(username="pat")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("password-reset-confirm", kwargs={"uidb64": uid, "token": TwoHoursAgo().make_token(user)})
    page.goto(live_server.url + path)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()


def code_for(key_text, offset=0):
    return pyotp.TOTP(key_text.replace(" ", "")).at(time.time() + offset)


def test_enrolment_and_sign_in_with_a_code_from_the_app(live_server, page, transactional_db):
    PartnerFactory(username="pat")
    sign_in(page, live_server, "pat")
    page.get_by_role("link", name="Your account").click()
    page.get_by_role("link", name="Set up two-step sign-in").click()
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    key_text = page.locator("#two-step-key").inner_text()
    page.get_by_label("Code from the app").fill(code_for(key_text))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", name="Two-step sign-in is on")).to_be_visible()
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="I have saved my codes").click()
    expect(page.locator("main")).to_contain_text("10 unused codes")
    sign_out(page)

    sign_in(page, live_server, "pat")
    expect(page.get_by_role("heading", name="Enter the code from your authenticator app")).to_be_visible()
    # Nothing opens before the code.
    page.goto(f"{live_server.url}/accounts/")
    expect(page.get_by_role("heading", name="Sign in to Plan Tracker")).to_be_visible()
    page.goto(f"{live_server.url}/accounts/two-step/")
    page.get_by_label("Code", exact=True).fill("000000" if code_for(key_text, 30) != "000000" else "111111")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("That code is not right")
    # The enrolment's code was for this 30 seconds; the app's next one is accepted (one step of drift).
    page.get_by_label("Code", exact=True).fill(code_for(key_text, 30))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name=re.compile("^Sign out"))).to_be_visible()
    page.goto(f"{live_server.url}/accounts/")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()


def test_a_staff_account_without_a_second_step_is_sent_to_enrol_before_anything_else(
    live_server, page, transactional_db, settings
):
    # Debug mode (the test suite's) requires no role; production's default is set here explicitly.
    settings.TWO_STEP_ROLES = ["secretariat", "commissioner"]
    SecretariatFactory(username="sam")
    sign_in(page, live_server, "sam")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Your account must use two-step sign-in")
    for path in ("/actions/", "/organisations/", "/accounts/", "/admin/"):
        page.goto(live_server.url + path)
        expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    key_text = page.locator("#two-step-key").inner_text()
    page.get_by_label("Code from the app").fill(code_for(key_text))
    page.get_by_role("button", name="Confirm and turn on").click()
    page.get_by_role("link", name="I have saved my codes").click()
    page.goto(f"{live_server.url}/actions/")
    expect(page.get_by_role("heading", name=re.compile("Actions"))).to_be_visible()


def test_each_recovery_code_works_once(live_server, page, transactional_db):
    user = PartnerFactory(username="pat")
    key = random_hex(20)
    app_code = pyotp.TOTP(base64.b32encode(unhexlify(key)).decode()).now()
    _, codes = two_step_enrol(user=user, key=key, token=app_code, client="test")

    def give(code):
        sign_in(page, live_server, "pat")
        page.get_by_label("Code", exact=True).fill(code)
        page.get_by_role("button", name="Continue").click()

    give(codes[0])
    expect(page.locator(".govuk-notification-banner")).to_contain_text("recovery code; 9 left")
    sign_out(page)
    give(codes[0])
    expect(page.locator(".govuk-error-summary")).to_contain_text("That code is not right, or was already used")
    page.get_by_label("Code", exact=True).fill(codes[1])
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("recovery code; 8 left")
