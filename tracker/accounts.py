"""Writes to people's own sign-in: password resets and changes, two-step devices and recovery codes.

Every change is written to the security log (logger "tracker.security") with who, when (the log line's time)
and from where, and the person gets an email saying what changed, sent by a Celery task after commit.
"""

import base64
import datetime
import time
from binascii import unhexlify

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from .emails import NOTICES, account_notice_register  # noqa: F401 (for the apps above: the API's notices)
from .models import RequestCount
from .security import SecurityLog
from .tasks import send_account_notice, send_password_reset
from .two_step import two_step_required

logger = SecurityLog()

RECOVERY_CODE_COUNT = 10
RATE_WINDOW_SECONDS = 60 * 60


class TooManyRequests(Exception):
    """A client asked for more password resets than the hourly limit."""


# --- notices -----------------------------------------------------------------------------------------


def notify_account_change(*, user, event, client, detail=""):
    """Email the person about a change to their account (one of NOTICES), by a Celery task once this commits."""
    when = timezone.now().isoformat()
    transaction.on_commit(lambda: send_account_notice.delay(user.pk, event, when, client, detail))


# --- passwords ---------------------------------------------------------------------------------------


# One statement counts a request and starts a new window when the last one has ended, so that two
# processes counting at once each get their own number (SQLite >= 3.35 and PostgreSQL both run it).
COUNT_SQL = (
    "INSERT INTO {table} ({key}, window_started_at, {count}) VALUES (%s, %s, 1) "
    "ON CONFLICT ({key}) DO UPDATE SET "
    "{count} = CASE WHEN {table}.window_started_at <= %s THEN 1 ELSE {table}.{count} + 1 END, "
    "window_started_at = CASE WHEN {table}.window_started_at <= %s "
    "THEN excluded.window_started_at ELSE {table}.window_started_at END "
    "RETURNING {count}"
)


def _count_request(key, window_seconds):
    """This request's number in `key`'s current window (a window starts at its first request); in the database.

    Windows that ended long ago are deleted on the way (the table holds only digests of the last hours).
    """
    now = timezone.now()
    ended = connection.ops.adapt_datetimefield_value(now - datetime.timedelta(seconds=window_seconds))
    quote = connection.ops.quote_name
    sql = COUNT_SQL.format(table=quote(RequestCount._meta.db_table), key=quote("key"), count=quote("count"))
    long_ended = connection.ops.adapt_datetimefield_value(now - datetime.timedelta(seconds=2 * window_seconds))
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, connection.ops.adapt_datetimefield_value(now), ended, ended])
        count = cursor.fetchone()[0]
        # Plain SQL: the ORM's delete would send signals, and the page cache would take it for a change.
        table = quote(RequestCount._meta.db_table)  # the model's own table name: no input goes in
        cursor.execute(f"DELETE FROM {table} WHERE window_started_at < %s", [long_ended])  # noqa: S608  # nosec B608
    return count


def _over_limit(kind, value, limit):
    """Counts one request for `value` in this hour's window; True once the count passes `limit`.

    The value is kept only as a keyed digest (an HMAC with the secret key): the table names no address.
    """
    digest = salted_hmac("tracker.accounts.password-reset", value).hexdigest()[:40]
    return _count_request(f"password-reset:{kind}:{digest}", RATE_WINDOW_SECONDS) > limit


def password_reset_request(*, email, client):
    """Queue a reset email for `email`: the same work whether or not an account has it (no enumeration).

    Raises TooManyRequests past the hourly limit per client; past the limit per address, nothing is sent
    and the answer stays the same, so the limit says nothing about the address either.
    """
    email = email.strip().lower()
    if _over_limit("client", client, settings.PASSWORD_RESET_LIMIT_PER_CLIENT):
        logger.warning("password reset refused (too many from this client): email=%s from=%s", email, client)
        raise TooManyRequests
    if _over_limit("address", email, settings.PASSWORD_RESET_LIMIT_PER_ADDRESS):
        logger.warning("password reset not sent (too many for this address): email=%s from=%s", email, client)
        return
    logger.info("password reset requested: email=%s from=%s", email, client)
    # The account is looked up by the worker, so this answer takes as long for unknown addresses.
    send_password_reset.delay(email, client)


@transaction.atomic
def password_set(*, user, password, event, client):
    """Set a new password by reset or change: every other session ends (Django's session hash changes)."""
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    label = {"password-reset": "password reset completed", "password-changed": "password changed"}[event]
    logger.info("%s: user=%s from=%s", label, user.username, client, person=user)
    notify_account_change(user=user, event=event, client=client)
    return user


# --- two-step sign-in --------------------------------------------------------------------------------


def new_two_step_key():
    """A fresh TOTP secret (hex, as django-otp stores it), held in the session until the person confirms it."""
    return random_hex(20)


def key_as_text(key):
    """The secret as authenticator apps take it typed in: base32, in groups of four."""
    text = base64.b32encode(unhexlify(key)).decode()
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def otpauth_url(*, user, key):
    return TOTPDevice(user=user, key=key).config_url


def _clean_code(token):
    return "".join(str(token).split()).replace("-", "").lower()


def _new_recovery_codes(user):
    device, _ = StaticDevice.objects.get_or_create(user=user, defaults={"name": "Recovery codes"})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def two_step_enrol(*, user, key, token, client):
    """Confirm an authenticator app with a code it shows; returns (device, recovery codes shown once).

    Replaces an earlier app and earlier recovery codes. The code is checked by django-otp's TOTP (RFC 6238),
    allowing one 30-second step of clock drift, and may not be used again to sign in.
    """
    totp = TOTP(unhexlify(key))
    totp.time = time.time()  # one instant for the check and the step recorded below
    code = _clean_code(token)
    if not (code.isdigit() and len(code) == 6 and totp.verify(int(code), tolerance=1)):
        logger.warning("two-step enrolment failed: user=%s from=%s", user.username, client, person=user)
        raise ValidationError({"token": "That code is not right. Enter the 6-digit code your app shows now."})
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice(user=user, key=key, name="Authenticator app", confirmed=True, last_t=totp.t())
    device.full_clean()
    device.save()
    codes = _new_recovery_codes(user)
    logger.info("two-step enrolled: user=%s from=%s", user.username, client, person=user)
    notify_account_change(user=user, event="two-step-enrolled", client=client)
    return device, codes


def two_step_verify(*, user, token, client):
    """The device that accepts this code (an app's 6 digits or an unused recovery code), else None.

    A recovery code works once: django-otp deletes it as it accepts it.
    """
    code = _clean_code(token)
    model = TOTPDevice if (code.isdigit() and len(code) == 6) else StaticDevice
    with transaction.atomic():
        for device in model.objects.devices_for_user(user).select_for_update():
            if device.verify_token(code):
                if model is StaticDevice:
                    left = device.token_set.count()
                    logger.info("recovery code used: user=%s from=%s left=%s", user.username, client, left, person=user)
                return device
    logger.warning("two-step failed: user=%s from=%s", user.username, client, person=user)
    return None


@transaction.atomic
def recovery_codes_renew(*, user, client):
    """New recovery codes replace every earlier one; only for someone with an authenticator app."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ValidationError("Set up two-step sign-in first: recovery codes stand in for your authenticator app.")
    codes = _new_recovery_codes(user)
    logger.info("recovery codes renewed: user=%s from=%s", user.username, client, person=user)
    notify_account_change(user=user, event="recovery-codes-renewed", client=client)
    return codes


@transaction.atomic
def two_step_remove(*, user, password, client):
    """A person turns off their own second step: their password is needed, and only where it is optional."""
    if not user.check_password(password):
        raise ValidationError({"password": "That is not your current password."})
    if two_step_required(user):
        raise ValidationError("Two-step sign-in is required for your account, so it cannot be turned off.")
    _delete_devices(user)
    logger.info("two-step removed: user=%s from=%s", user.username, client, person=user)
    notify_account_change(user=user, event="two-step-removed", client=client)


def _delete_devices(user):
    deleted = TOTPDevice.objects.filter(user=user).delete()[0]
    deleted += StaticDevice.objects.filter(user=user).delete()[0]
    return deleted


@transaction.atomic
def two_step_reset(*, user, by, client):
    """The secretariat clears a person's app and recovery codes (a lost phone); they set it up again next sign-in."""
    if user == by:
        raise ValidationError("Reset your own two-step sign-in from your account page.")
    if not _delete_devices(user):
        raise ValidationError(f"{user} has no two-step sign-in to reset.")
    logger.warning("two-step reset: user=%s by=%s from=%s", user.username, by.username, client, person=user)
    notify_account_change(user=user, event="two-step-reset", client=client)
    return user


@transaction.atomic
def organisation_set_two_step(*, organisation, required, by, client):
    """Require (or stop requiring) two-step sign-in for an organisation's people."""
    organisation.two_step_required = bool(required)
    organisation.full_clean()
    organisation.save(update_fields=["two_step_required", "updated_at"])
    logger.info(
        "two-step %s for organisation=%s by=%s from=%s",
        "required" if required else "optional",
        organisation.slug,
        by.username,
        client,
        person=by,
    )
    return organisation
