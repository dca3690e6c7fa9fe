"""Every write the API makes: access tokens, and reports that go through the pages' own services.

A token acts as its person: a partner's report through the API is `submission_create` (or
`measurement_submission_create`) with that person, exactly as the browser's form calls it, so it
enters the review queue and notifies the reviewers the same way; the secretariat's is
`action_record_update` (or `measurement_record`) with `via="api"`, as its own form records it.
"""

import datetime
import hashlib
import json
import logging
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from indicators.models import Measure, Measurement, MeasurementSubmission
from indicators.services import measurement_record, measurement_submission_create
from priorities.models import Action, ProgressUpdate, Submission
from priorities.services import action_record_update, submission_create
from tracker.accounts import account_notice_register, notify_account_change
from tracker.models import User
from tracker.two_step import two_step_required

from .models import TOKEN_PREFIX, VISIBLE_CHARACTERS, AccessToken, ApiReport, IdempotentRequest, token_hash

logger = logging.getLogger("tracker.security")

EXPIRY_DAYS = (7, 30, 90, 180, 365)
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365
# Live tokens one person may hold: enough for every tool they use, few enough to review.
MAX_LIVE_TOKENS = 20
# How stale "last used" may get before it is written again: not one write per request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
IDEMPOTENCY_KEY_MAX_LENGTH = 200

TOKEN_CREATED = "api-token-created"
TOKEN_REVOKED = "api-token-revoked"
NOTICES = {
    TOKEN_CREATED: "A new Plan Tracker access token was made on your account",
    TOKEN_REVOKED: "The secretariat revoked one of your Plan Tracker access tokens",
}


def register_notices() -> None:
    """The emails about tokens join the account notices (tracker.accounts), sent the same way."""
    for event, subject in NOTICES.items():
        account_notice_register(event, subject)


def scopes_for(user: User) -> list[AccessToken.Scope]:
    """The scopes a person may give a token: reporting is for partners and the secretariat."""
    if user.role in (user.Role.PARTNER, user.Role.SECRETARIAT):
        return [AccessToken.Scope.READ, AccessToken.Scope.REPORT]
    return [AccessToken.Scope.READ]


@transaction.atomic
def token_create(
    *, user: User, name: str, scope: str, days: int, verified: bool, client: str
) -> tuple[AccessToken, str]:
    """Make a token for `user`; returns it and its secret, which is shown once and never stored.

    `verified`: the person's session passed two-step sign-in; it must have, where their role or
    organisation requires two-step sign-in.
    """
    if not user.is_active:
        raise PermissionDenied("A deactivated account cannot make tokens.")
    if two_step_required(user) and not verified:
        raise PermissionDenied("Sign in with your second step before you make a token.")
    errors = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = "Enter a name for the token, so you know what uses it."
    elif len(name) > (AccessToken._meta.get_field("name").max_length or 0):
        errors["name"] = "The name must be 100 characters or fewer."
    if scope not in scopes_for(user):
        errors["scope"] = "Choose read, or read and report (for partners and the secretariat)."
    if not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
        errors["days"] = f"A token lasts at most {MAX_EXPIRY_DAYS} days."
    if AccessToken.objects.usable().filter(user=user).count() >= MAX_LIVE_TOKENS:
        errors["name"] = f"You have {MAX_LIVE_TOKENS} live tokens already: revoke one you no longer use first."
    if errors:
        raise ValidationError(errors)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = AccessToken(
        user=user,
        name=name,
        scope=scope,
        prefix=secret[: len(TOKEN_PREFIX) + VISIBLE_CHARACTERS],
        hashed=token_hash(secret),
        created_at=now,
        expires_at=now + datetime.timedelta(days=days),
    )
    token.full_clean()
    token.save()
    logger.info(
        "access token created: user=%s token=%s scope=%s expires=%s from=%s",
        user.username,
        token.prefix,
        scope,
        token.expires_at.date().isoformat(),
        client,
    )
    notify_account_change(
        user=user,
        event=TOKEN_CREATED,
        client=client,
        detail=f"The token is called “{name}” ({token.get_scope_display().lower()}, starting {token.prefix}), "
        f"and works until {timezone.localtime(token.expires_at):%-d %B %Y}. "
        "You can revoke it on your account page.",
    )
    return token, secret


@transaction.atomic
def token_revoke(*, token: AccessToken, by: User, client: str) -> AccessToken | None:
    """Revoke a token at once (its owner, or the secretariat); None if it was revoked already.

    The secretariat revoking someone else's token is logged and the owner emailed.
    """
    if by != token.user and by.role != by.Role.SECRETARIAT:
        raise PermissionDenied("Only the token's owner or the secretariat can revoke it.")
    locked = AccessToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is not None:
        return None
    locked.revoked_at = timezone.now()
    locked.revoked_by = by
    locked.save(update_fields=["revoked_at", "revoked_by"])
    logger.warning(
        "access token revoked: user=%s token=%s by=%s from=%s",
        locked.user.username,
        locked.prefix,
        by.username,
        client,
    )
    if by != locked.user:
        notify_account_change(
            user=locked.user,
            event=TOKEN_REVOKED,
            client=client,
            detail=f"{by} revoked the token “{locked.name}” (starting {locked.prefix}): "
            "tools that use it are refused from now on. Ask them why, or make a new token.",
        )
    token.refresh_from_db()
    return locked


def token_authenticate(secret: str) -> AccessToken | None:
    """The usable token with this secret (one indexed query), its last use noted at most once a minute."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    token = AccessToken.objects.usable().select_related("user__organisation").filter(hashed=token_hash(secret)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        # An UPDATE outside the request's work: a read-only request writes nothing else.
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- reports -----------------------------------------------------------------------------------------


def _require_report_scope(token: AccessToken) -> None:
    if not token.can_report:
        raise PermissionDenied("This token may only read: make a token with the “read and report” scope to report.")


@transaction.atomic
def action_report(
    *, token: AccessToken, action: Action, status: str, note: str, evidence_url: str = ""
) -> Submission | ProgressUpdate:
    """Report progress on an action with a token: a partner's waits for review, the secretariat's is recorded.

    As in the browser: a partner's report is a Submission (the review queue marks it as reported
    through the API, with the token's name); the secretariat's is a ProgressUpdate.
    """
    _require_report_scope(token)
    user = token.user
    if user.role == user.Role.PARTNER:
        submission = submission_create(  # PermissionDenied when the partner's organisation is not a partner
            action=action, by=user, status=status, note=note, evidence_url=evidence_url, via_api_token=token.name
        )
        ApiReport.objects.create(token=token, token_name=token.name, submission=submission)
        return submission
    if user.role == user.Role.SECRETARIAT:
        return action_record_update(
            action=action, status=status, note=note, evidence_url=evidence_url, by=user, via="api"
        )
    raise PermissionDenied("Only partners and the secretariat report progress.")


@transaction.atomic
def measure_report(
    *,
    token: AccessToken,
    measure: Measure,
    period_start: datetime.date,
    period_end: datetime.date,
    value: Decimal | None = None,
    text_value: str = "",
    source: str = "",
    note: str = "",
) -> MeasurementSubmission | Measurement:
    """Report a measure's value for a period: a partner's waits for review, the secretariat's is recorded."""
    _require_report_scope(token)
    user = token.user
    # The value's fields, for either service (their types are this function's parameters').
    fields: dict[str, Any] = {
        "measure": measure,
        "by": user,
        "period_start": period_start,
        "period_end": period_end,
        "value": value,
        "text_value": text_value,
        "source": source,
        "note": note,
    }
    if user.role == user.Role.PARTNER:
        # PermissionDenied when the partner's organisation does not report this measure
        submission = measurement_submission_create(**fields, via_api_token=token.name)
        ApiReport.objects.create(token=token, token_name=token.name, value_submission=submission)
        return submission
    if user.role == user.Role.SECRETARIAT:
        return measurement_record(**fields, via="api")
    raise PermissionDenied("Only partners and the secretariat report values.")


# --- idempotency -------------------------------------------------------------------------------------


class IdempotencyKeyReused(Exception):
    """The key was sent before with another method, path or body."""


def request_fingerprint(*, method: str, path: str, data: Any) -> str:
    """A hash of what a POST asked for: a key sent again must come with the same request."""
    text = json.dumps([method, path, data], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def clean_idempotency_key(key: str) -> str:
    """The key as sent, if usable: visible ASCII, at most IDEMPOTENCY_KEY_MAX_LENGTH characters."""
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH or not key.isascii() or not key.isprintable() or not key.strip():
        raise ValidationError(
            {
                "Idempotency-Key": f"Send a key of 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters, "
                "e.g. a UUID."
            }
        )
    return key


@transaction.atomic
def idempotent(
    *, token: AccessToken, key: str, fingerprint: str, perform: Callable[[], tuple[int, dict, str]]
) -> tuple[int, dict, str, bool]:
    """Run `perform` (returning status, body, location) once per key: (status, body, location, replayed).

    The key is written first, in the same transaction as the report: a second request with the key
    waits for the first (the unique constraint) and then answers what the first answered. A request
    that fails rolls back its key with everything else.
    """
    if not key:
        return (*perform(), False)
    IdempotentRequest.objects.filter(
        created_at__lt=timezone.now() - datetime.timedelta(hours=IdempotentRequest.KEEP_HOURS)
    ).delete()
    try:
        with transaction.atomic():
            row = IdempotentRequest.objects.create(token=token, key=key, request_hash=fingerprint)
    except IntegrityError:
        row = IdempotentRequest.objects.get(token=token, key=key)
        if row.request_hash != fingerprint:
            raise IdempotencyKeyReused(key) from None
        return row.status_code, row.body, row.location, True
    status, body, location = perform()
    row.status_code, row.body, row.location = status, body, location
    row.save(update_fields=["status_code", "body", "location"])
    return status, body, location, False
