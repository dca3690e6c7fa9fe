import datetime
from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.db.models.expressions import Combinable, OrderBy
from django.db.models.functions import Lower, Replace
from django.urls import reverse
from django.utils import timezone

# Punctuation a person skips when looking a name up in a list ("(UN)", "St. Martin's", "Anti-Slavery").
SORT_IGNORED = ".,'’\"()[]-–&/:;!?*"


def alphabetical(field: str = "name") -> OrderBy:
    """An ordering on `field` that ignores case and punctuation, the same on SQLite and PostgreSQL."""
    expression: Combinable = models.F(field)
    for character in SORT_IGNORED:
        expression = Replace(expression, models.Value(character), models.Value(""))
    return Lower(expression).asc()


class OrganisationManager(models.Manager["Organisation"]):
    def get_queryset(self) -> models.QuerySet["Organisation"]:
        # Every list of organisations (pages, form choices, filters) is in the order a reader expects.
        return super().get_queryset().order_by(alphabetical(), "name")

    def get_by_natural_key(self, slug: str) -> "Organisation":
        return self.get(slug=slug)


class Organisation(models.Model):
    """A body the plan names as a partner: a department, an agency, an NGO ..."""

    class Kind(models.TextChoices):
        GOVERNMENT = "government", "Government department"
        LAW_ENFORCEMENT = "law_enforcement", "Law enforcement"
        PROSECUTION = "prosecution", "Prosecution"
        EU_AGENCY = "eu_agency", "EU agency"
        INTERNATIONAL = "international", "International organisation"
        CIVIL_SOCIETY = "civil_society", "NGO / civil society"
        FAITH_ACADEMIC = "faith_academic", "Faith / academic"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=50, blank=True)
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OTHER)
    country = models.CharField(max_length=100, blank=True, help_text="Where it is based; blank if international.")
    website = models.URLField(blank=True)
    contact_email = models.EmailField(blank=True, help_text="Receives reminders when no partner user is active.")
    two_step_required = models.BooleanField(
        default=False,
        verbose_name="two-step sign-in required",
        help_text="Its people must use an authenticator app as well as their password.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationManager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("organisation-detail", kwargs={"slug": self.slug})

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def natural_key(self) -> tuple[str]:
        return (self.slug,)


class TrackerUserManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra_fields: Any
    ) -> "User":
        # Whoever runs createsuperuser runs the plan: give them the secretariat role.
        extra_fields.setdefault("role", User.Role.SECRETARIAT)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in: secretariat staff, the commissioner, or a partner organisation's user."""

    class Role(models.TextChoices):
        SECRETARIAT = "secretariat", "Secretariat"
        COMMISSIONER = "commissioner", "Commissioner"
        PARTNER = "partner", "Partner organisation"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PARTNER)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        help_text="Required for partner users: the organisation whose actions they report on.",
    )

    deactivated_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the account was last deactivated: retention anonymises it a set time after (privacy app).",
    )

    objects: ClassVar[TrackerUserManager] = TrackerUserManager()
    # Set on request.user by django-otp's OTPMiddleware: whether this session passed its second step.
    is_verified: Callable[[], bool]

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                name="partner_user_has_organisation",
                condition=~Q(role="partner") | Q(organisation__isnull=False),
                violation_error_message="A partner user must belong to an organisation.",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_secretariat(self) -> bool:
        return self.is_active and self.role == self.Role.SECRETARIAT

    @property
    def is_commissioner(self) -> bool:
        return self.is_active and self.role == self.Role.COMMISSIONER

    @property
    def is_partner(self) -> bool:
        return self.is_active and self.role == self.Role.PARTNER


class Invitation(models.Model):
    """An invitation for a partner user to set a password. The link is signed; `nonce` makes it one-time."""

    VALID_FOR_DAYS = 7

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.user.email}"

    @property
    def expires_at(self) -> datetime.datetime:
        return self.created_at + datetime.timedelta(days=self.VALID_FOR_DAYS)

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and timezone.now() < self.expires_at


class DataGeneration(models.Model):
    """One row counting committed changes to what the plan pages show; rendered fragments are cached per value.

    See tracker/caching.py: every save or delete of a watched model adds one when its transaction commits,
    and `changed_at` says when, by the database server's clock (the one clock every process shares).
    """

    value = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "data generation"

    def __str__(self) -> str:
        return f"Data generation {self.value}"


class RequestCount(models.Model):
    """How many requests one key (a client's or an email address's digest) made in its current window.

    The password-reset limits count here, in the database every process and host shares, as django-axes
    counts failed sign-ins: a cache in each process's memory let two gunicorn workers each accept the limit.
    tracker.accounts counts with one atomic statement, so two requests at once never both take the last place.
    """

    key = models.CharField(max_length=100, unique=True)
    window_started_at = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} since {self.window_started_at:%Y-%m-%d %H:%M}"


class SitePageVersion(models.Model):
    """One saved text of a page the secretariat keeps (the privacy notice, the accessibility statement).

    The newest version of a page is what it shows; the older ones are its history (who changed it, when).
    With no version yet, or when the newest one says `use_default`, the page shows the text Plan Tracker
    ships (tracker/site_pages.py), which follows the installation's settings.
    """

    class Page(models.TextChoices):
        PRIVACY = "privacy", "Privacy notice"
        ACCESSIBILITY = "accessibility", "Accessibility statement"

    page = models.CharField(max_length=20, choices=Page.choices)
    text = models.TextField(blank=True, help_text="Markdown: paragraphs, ## headings, - lists and [links](https://…).")
    use_default = models.BooleanField(default=False, help_text="Show the text Plan Tracker ships instead.")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["page", "-created_at"], name="site_page_newest")]
        constraints = [
            models.CheckConstraint(
                name="site_page_has_text_or_default",
                condition=Q(use_default=True) | ~Q(text=""),
                violation_error_message="Enter the page's text.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_page_display()} of {self.created_at:%Y-%m-%d %H:%M}"
