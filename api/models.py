"""Personal access tokens for the API, and what the API records about the reports it takes."""

import datetime
import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from tracker.models import User

TOKEN_PREFIX = "pt_"
# Characters of the secret shown beside a token's name (after pt_), so a person can tell tokens apart.
VISIBLE_CHARACTERS = 8


def token_hash(secret: str) -> str:
    """The SHA-256 of a token, as stored: a token is 256 random bits, so a fast hash cannot be brute-forced."""
    return hashlib.sha256(secret.encode()).hexdigest()


class AccessTokenQuerySet(models.QuerySet["AccessToken"]):
    def usable(self, now: datetime.datetime | None = None) -> "AccessTokenQuerySet":
        """Tokens that authenticate: not revoked, not expired, their person active."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)

    def visible_to(self, user: "User | AnonymousUser") -> "AccessTokenQuerySet":
        """The secretariat sees everyone's tokens; anyone else their own."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.role == user.Role.SECRETARIAT:
            return self
        return self.filter(user=user)


class AccessToken(models.Model):
    """A named, expiring personal access token: it acts as its person, within its scope.

    Only the hash of the secret is kept, with its first characters to recognise it; the secret is shown
    once, when it is made. Written only by api.services.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read"
        REPORT = "report", "Read and report"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. “Power BI board pack”.")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=20, help_text="The first characters of the token, to recognise it.")
    hashed = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=Q(revoked_at__isnull=True),
                name="unique_live_token_name_per_user",
                violation_error_message="You already have a token with this name: choose another or revoke it first.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) of {self.user}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        """ "revoked", "expired" or "active", as the token pages show it."""
        if self.revoked_at is not None:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "active"

    @property
    def can_report(self) -> bool:
        return self.scope == self.Scope.REPORT


class ApiReport(models.Model):
    """A partner's report (progress or a value) that came through the API: which token sent it.

    The review queue says "reported through the API" with the token's name, kept here so that it
    still reads once the token is revoked or its person deleted.
    """

    token = models.ForeignKey(AccessToken, on_delete=models.SET_NULL, null=True, related_name="reports")
    token_name = models.CharField(max_length=100)
    submission = models.OneToOneField(
        "priorities.Submission", on_delete=models.CASCADE, null=True, blank=True, related_name="api_report"
    )
    value_submission = models.OneToOneField(
        "indicators.MeasurementSubmission",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_report",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="api_report_names_one_report",
                condition=Q(submission__isnull=False, value_submission__isnull=True)
                | Q(submission__isnull=True, value_submission__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Reported through the API with “{self.token_name}”"


class IdempotentRequest(models.Model):
    """A POST sent with an Idempotency-Key: its answer, replayed when the same key comes again.

    Kept for KEEP_HOURS; a request that failed keeps nothing (it changed nothing), so its key can be
    used again with a corrected body.
    """

    KEEP_HOURS = 24

    token = models.ForeignKey(AccessToken, on_delete=models.CASCADE, related_name="idempotent_requests")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64, help_text="The method, path and body the key was first sent with.")
    status_code = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(default=dict)
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="unique_idempotency_key_per_token"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"
