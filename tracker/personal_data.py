"""What is held about a person, app by app: a registry each app fills with its own part.

An app tells the registry, in its AppConfig.ready(), two things about the rows it keeps about people:

- `register_export(name=..., title=..., models=..., rows=...)`: the rows to put in a person's data
  download (the privacy app zips them as JSON and CSV). `rows(person)` yields flat dicts of plain values
  (text, numbers, dates, booleans, None), the same keys in every row. `models` names every model whose rows
  it draws on: a test fails when a model that points at a person is in no part.
- `register_anonymiser(name=..., models=..., anonymise=...)`: how to anonymise them.
  `anonymise(person, pseudonym)` runs inside the privacy app's one transaction, before the person's own
  row is renamed, and returns {what: rows changed or removed}. It replaces the person's name, email and
  username where the app itself wrote them (histories, emails, logs) and removes what only served the
  person (sessions, devices, tokens, emails not yet sent). Text people wrote (a note naming themselves)
  is left alone: the privacy app lists it for the secretariat.

Apps above tracker register here so that tracker need not know them (the API's tokens, for one); the
privacy app reads the registry and never imports the parts.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import quote, quote_plus

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db.models import Q, QuerySet
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Invitation, SitePageVersion, User


@dataclass(frozen=True)
class ExportPart:
    name: str  # the file's name in the download: letters, digits and underscores
    title: str  # what a person reading the download is told it holds
    models: tuple[str, ...]  # "app_label.ModelName" of every model it draws on
    rows: Callable[[User], Iterable[dict]]


@dataclass(frozen=True)
class Anonymiser:
    name: str
    models: tuple[str, ...]
    anonymise: Callable[[User, "Pseudonym"], dict[str, int]]


EXPORT_PARTS: list[ExportPart] = []
ANONYMISERS: list[Anonymiser] = []


def register_export(
    *, name: str, title: str, models: Iterable[str], rows: Callable[[User], Iterable[dict[str, Any]]]
) -> None:
    """Add a part to every person's data download (called once per part, from an AppConfig.ready())."""
    if not re.fullmatch(r"[a-z0-9_]+", name) or any(part.name == name for part in EXPORT_PARTS):
        raise ValueError(f"An export part needs a new name of lower-case letters, digits and underscores: {name!r}")
    EXPORT_PARTS.append(ExportPart(name=name, title=title, models=tuple(models), rows=rows))


def register_anonymiser(
    *, name: str, models: Iterable[str], anonymise: Callable[[User, "Pseudonym"], dict[str, int]]
) -> None:
    """Add a step to anonymising a person (called once per step, from an AppConfig.ready())."""
    if any(step.name == name for step in ANONYMISERS):
        raise ValueError(f"An anonymiser named {name!r} is already registered.")
    ANONYMISERS.append(Anonymiser(name=name, models=tuple(models), anonymise=anonymise))


# --- the person's new name, and replacing the old one ---------------------------------------------------

# A term stands for the person in free text only if it cannot be an ordinary word: a full name (two words
# or more), an email address, or a username with a digit or punctuation in it. "secretariat" as a username
# is left to the scan's list, never replaced in every sentence that says "the secretariat".
_DISTINCTIVE = re.compile(r"\s|[@0-9._+-]")
MIN_TERM_LENGTH = 4


def display_name(person: User) -> str:
    """The person as the product writes them into histories and emails (User.__str__)."""
    return person.get_full_name().strip() or person.username


@dataclass(frozen=True)
class Pseudonym:
    """Who the person was (name, email, username) and who they become: "Former user N" (N: their account's id)."""

    pk: int
    old_name: str
    old_email: str
    old_username: str

    @classmethod
    def of(cls, person: User) -> Self:
        return cls(
            pk=person.pk,
            old_name=display_name(person),
            old_email=(person.email or "").strip(),
            old_username=person.username,
        )

    @property
    def name(self) -> str:
        return f"Former user {self.pk}"

    @property
    def username(self) -> str:
        return f"former-user-{self.pk}"

    @property
    def address(self) -> str:
        """Stands in for their email address in the outbox's rows (unique per person, never deliverable)."""
        return f"former-user-{self.pk}@anonymised.invalid"

    def terms(self) -> list[str]:
        """Every way they were written down (name, email, username), longest first; the scan looks for these."""
        found = {t for t in (self.old_name, self.old_email, self.old_username) if len(t) >= MIN_TERM_LENGTH}
        return sorted(found, key=lambda term: (-len(term), term))

    def replacements(self) -> list[tuple[re.Pattern[str], str]]:
        """(pattern, new text) for the terms safe to replace in free text written by the product itself."""
        pairs = []
        for term, new in (
            (self.old_email, self.address),
            (self.old_username, self.username),
            (self.old_name, self.name),
        ):
            if len(term) < MIN_TERM_LENGTH or not _DISTINCTIVE.search(term):
                continue
            # As written, and as it reads inside an address (a search in a URL's query string).
            for form in {term, quote(term, safe=""), quote_plus(term)}:
                pairs.append((form, new))
        pairs.sort(key=lambda pair: -len(pair[0]))
        return [(re.compile(_bounded(term), re.IGNORECASE), new) for term, new in pairs]

    def replace(self, text: str) -> str:
        """`text` with every safe term replaced by the new name, username or address."""
        if not text:
            return text
        for pattern, new in self.replacements():
            text = pattern.sub(new, text)
        return text

    def replace_in(self, queryset: QuerySet[Any], *fields: str) -> int:
        """Replace the safe terms in these text columns of the rows that hold them; returns the rows changed."""
        replacements = self.replacements()
        if not replacements or not fields:
            return 0
        candidates = Q()
        for field in fields:
            for term in self._plain_terms():
                candidates |= Q(**{f"{field}__icontains": term})
        changed = []
        for row in queryset.filter(candidates).only("pk", *fields).iterator():
            before = [getattr(row, field) for field in fields]
            for field in fields:
                setattr(row, field, self.replace(getattr(row, field)))
            if [getattr(row, field) for field in fields] != before:
                changed.append(row)
        if changed:
            queryset.model.objects.bulk_update(changed, list(fields), batch_size=500)
        return len(changed)

    def _plain_terms(self) -> set[str]:
        terms = set()
        for term in (self.old_email, self.old_username, self.old_name):
            if len(term) >= MIN_TERM_LENGTH and _DISTINCTIVE.search(term):
                terms |= {term, quote(term, safe=""), quote_plus(term)}
        return terms


def _bounded(term: str) -> str:
    """A pattern for `term` that does not match inside a longer word or address ("ann" in "joanne")."""
    return r"(?<![\w.@-])" + re.escape(term) + r"(?![\w@-]|\.\w)"


# --- tracker's own part: the account, its invitations, second steps, sign-ins and the admin's log --------


def _account_rows(person: User) -> Iterator[dict[str, Any]]:
    organisation = person.organisation
    yield {
        "id": person.pk,
        "username": person.username,
        "email": person.email,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "role": person.get_role_display(),
        "organisation": organisation.name if organisation else "",
        "active": person.is_active,
        "deactivated_at": person.deactivated_at,
        "has_password": person.has_usable_password(),
        "admin_access": person.is_staff,
        "joined": person.date_joined,
        "last_sign_in": person.last_login,
    }


def _invitation_rows(person: User) -> Iterator[dict[str, Any]]:
    invitations = Invitation.objects.filter(Q(user=person) | Q(invited_by=person)).select_related("user", "invited_by")
    for invitation in invitations.order_by("created_at", "pk"):
        yield {
            "their_part": "invited" if invitation.user_id == person.pk else "invited someone",
            "person_invited": display_name(invitation.user),
            "invited_by": display_name(invitation.invited_by),
            "created_at": invitation.created_at,
            "sent_at": invitation.sent_at,
            "accepted_at": invitation.accepted_at,
        }


def _device_rows(person: User) -> Iterator[dict[str, Any]]:
    for device in TOTPDevice.objects.filter(user=person).order_by("pk"):
        yield {
            "kind": "authenticator app",
            "name": device.name,
            "confirmed": device.confirmed,
            "created_at": device.created_at,
            "last_used_at": device.last_used_at,
            "unused_recovery_codes": None,
        }
    for device in StaticDevice.objects.filter(user=person).order_by("pk"):
        yield {
            "kind": "recovery codes",
            "name": device.name,
            "confirmed": device.confirmed,
            "created_at": device.created_at,
            "last_used_at": device.last_used_at,
            # The codes themselves are secrets: how many are left, never which.
            "unused_recovery_codes": device.token_set.count(),
        }


def _sign_in_rows(person: User) -> Iterator[dict[str, Any]]:
    for entry in AccessLog.objects.filter(username=person.username).order_by("attempt_time", "pk"):
        yield {
            "event": "signed in",
            "at": entry.attempt_time,
            "signed_out_at": entry.logout_time,
            "from_address": entry.ip_address,
            "browser": entry.user_agent,
            "failures": None,
        }
    for entry in AccessFailureLog.objects.filter(username=person.username).order_by("attempt_time", "pk"):
        yield {
            "event": "locked out" if entry.locked_out else "sign-in failed",
            "at": entry.attempt_time,
            "signed_out_at": None,
            "from_address": entry.ip_address,
            "browser": entry.user_agent,
            "failures": None,
        }
    for entry in AccessAttempt.objects.filter(username=person.username).order_by("attempt_time", "pk"):
        yield {
            "event": "failed sign-ins counted towards a lock-out",
            "at": entry.attempt_time,
            "signed_out_at": None,
            "from_address": entry.ip_address,
            "browser": entry.user_agent,
            "failures": entry.failures_since_start,
        }


def _person_sessions(person: User) -> Iterator[tuple[Session, dict[str, Any]]]:
    """Their sessions, found by decoding each stored one (a session names its user only inside its data)."""
    pending_key = "two_step_pending"
    for session in Session.objects.order_by("expire_date").iterator():
        data = session.get_decoded()
        pending = data.get(pending_key) or {}
        if str(data.get("_auth_user_id", "")) == str(person.pk) or str(pending.get("user", "")) == str(person.pk):
            yield session, data


def _session_rows(person: User) -> Iterator[dict[str, Any]]:
    for session, data in _person_sessions(person):
        yield {"expires_at": session.expire_date, "signed_in": "_auth_user_id" in data}


def _admin_log_rows(person: User) -> Iterator[dict[str, Any]]:
    user_type = ContentType.objects.get_for_model(User)
    entries = LogEntry.objects.filter(
        Q(user=person) | Q(content_type=user_type, object_id=str(person.pk))
    ).select_related("content_type", "user")
    for entry in entries.order_by("action_time", "pk"):
        yield {
            "their_part": "made the change" if entry.user_id == person.pk else "their account was changed",
            "at": entry.action_time,
            "by": display_name(entry.user),
            "what": f"{entry.content_type.app_label}.{entry.content_type.model}" if entry.content_type else "",
            "item": entry.object_repr,
            "action": entry.get_action_flag_display(),
            "change": entry.get_change_message(),
        }


def _anonymise_account_traces(person: User, pseudonym: Pseudonym) -> dict[str, int]:
    """Sessions, second steps and pending invitations removed; sign-in records and the admin's log renamed."""
    sessions = [session.pk for session, _ in _person_sessions(person)]
    counts = {"sessions removed": Session.objects.filter(pk__in=sessions).delete()[0]}
    counts["two-step devices removed"] = TOTPDevice.objects.filter(user=person).delete()[1].get(
        "otp_totp.TOTPDevice", 0
    ) + StaticDevice.objects.filter(user=person).delete()[1].get("otp_static.StaticDevice", 0)
    counts["invitations not yet accepted removed"] = Invitation.objects.filter(
        user=person, accepted_at__isnull=True
    ).delete()[0]
    renamed = 0
    for model in (AccessLog, AccessFailureLog, AccessAttempt):
        renamed += model.objects.filter(username=person.username).update(username=pseudonym.username)
    renamed += pseudonym.replace_in(AccessAttempt.objects.all(), "get_data", "post_data")
    counts["sign-in records renamed"] = renamed
    user_type = ContentType.objects.get_for_model(User)
    counts["admin log entries renamed"] = LogEntry.objects.filter(
        content_type=user_type, object_id=str(person.pk)
    ).update(object_repr=pseudonym.name) + pseudonym.replace_in(
        LogEntry.objects.exclude(content_type=user_type, object_id=str(person.pk)), "object_repr"
    )
    return counts


def _site_page_rows(person: User) -> Iterator[dict[str, Any]]:
    for version in SitePageVersion.objects.filter(created_by=person).order_by("created_at", "pk"):
        yield {
            "page": version.get_page_display(),
            "saved_at": version.created_at,
            "went_back_to_the_default": version.use_default,
            "text": version.text,
        }


def register() -> None:
    """Tracker's own parts (called from TrackerConfig.ready())."""
    register_export(name="account", title="Their account", models=["tracker.User"], rows=_account_rows)
    register_export(
        name="invitations",
        title="Invitations they received or sent",
        models=["tracker.Invitation"],
        rows=_invitation_rows,
    )
    register_export(
        name="two_step_devices",
        title="Their two-step sign-in (no keys or codes)",
        models=["otp_totp.TOTPDevice", "otp_static.StaticDevice", "otp_static.StaticToken"],
        rows=_device_rows,
    )
    register_export(
        name="sign_ins",
        title="Their sign-ins, sign-outs and failed sign-ins (django-axes)",
        models=["axes.AccessLog", "axes.AccessFailureLog", "axes.AccessAttempt"],
        rows=_sign_in_rows,
    )
    register_export(name="sessions", title="Their open sessions", models=["sessions.Session"], rows=_session_rows)
    register_export(
        name="admin_log",
        title="Changes they made in the admin, and changes made there to their account",
        models=["admin.LogEntry"],
        rows=_admin_log_rows,
    )
    register_export(
        name="site_pages",
        title="Texts of the privacy notice and the accessibility statement they saved",
        models=["tracker.SitePageVersion"],
        rows=_site_page_rows,
    )
    register_anonymiser(
        name="account traces",
        models=["sessions.Session", "otp_totp.TOTPDevice", "otp_static.StaticDevice", "tracker.Invitation"],
        anonymise=_anonymise_account_traces,
    )
