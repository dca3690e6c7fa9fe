"""Writes of the privacy app: retention holds, anonymising a person, and what remains to edit afterwards."""

import json
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from tracker.caching import choices_changed, data_changed
from tracker.models import User
from tracker.personal_data import ANONYMISERS, Pseudonym
from tracker.security import SecurityLog

from .models import Anonymisation, RemainingMention, RetentionHold
from .scan import find_mentions

security_log = SecurityLog()
HOLD_REASON_MAX_LENGTH = 1000


@transaction.atomic
def retention_hold_set(*, person: User, reason: str, by: User) -> RetentionHold:
    """Keep `person` from being anonymised by the retention schedule until the hold is released."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why their account is held (a request, a case, an investigation)."})
    if len(reason) > HOLD_REASON_MAX_LENGTH:
        raise ValidationError({"reason": f"Give the reason in {HOLD_REASON_MAX_LENGTH:,} characters or fewer."})
    person = User.objects.select_for_update().get(pk=person.pk)
    if Anonymisation.objects.filter(person=person).exists():
        raise ValidationError(f"{person} is already anonymised: there is nothing left to hold.")
    if RetentionHold.objects.open().filter(person=person).exists():
        raise ValidationError(f"{person}'s account is already held.")
    hold = RetentionHold(person=person, reason=reason, set_by=by)
    hold.full_clean()
    hold.save()
    return hold


@transaction.atomic
def retention_hold_release(*, person: User, by: User) -> RetentionHold:
    """Release the open hold on `person`: the retention schedule applies to them again."""
    hold = RetentionHold.objects.open().select_for_update().filter(person=person).first()
    if hold is None:
        raise ValidationError(f"{person}'s account is not held.")
    hold.released_at = timezone.now()
    hold.released_by = by
    hold.save(update_fields=["released_at", "released_by"])
    return hold


def anonymise_refusal(
    person: User, by: User | None = None, *, anonymised: bool | None = None, held: bool | None = None
) -> str | None:
    """Why `person` cannot be anonymised now, or None (`anonymised` and `held` when already known)."""
    if by is not None and person.pk == by.pk:
        return "You cannot anonymise your own account."
    if person.is_active:
        return f"{person} is active: deactivate them first."
    if anonymised if anonymised is not None else Anonymisation.objects.filter(person=person).exists():
        return f"{person} is already anonymised."
    if held if held is not None else RetentionHold.objects.open().filter(person=person).exists():
        return f"{person}'s account is held: release the hold first."
    return None


@transaction.atomic
def person_anonymise(*, person: User, by: User | None, via: str = Anonymisation.Via.SECRETARIAT) -> Anonymisation:
    """Replace a deactivated person's name, email and username by "Former user N" everywhere, in one transaction.

    Each app's registered anonymiser rewrites what the app itself wrote and removes what served only the
    person (sessions, two-step devices, tokens, emails not yet sent); then their account is renamed, and
    every text column still naming them is listed (RemainingMention) for the secretariat. Their rows stay:
    histories keep their entries, now by "Former user N" of the same organisation.
    """
    person = User.objects.select_for_update().get(pk=person.pk)
    refusal = anonymise_refusal(person, by)
    if refusal:
        raise ValidationError(refusal)
    pseudonym = Pseudonym.of(person)
    changed: dict[str, int] = {}
    for step in ANONYMISERS:
        for what, count in step.anonymise(person, pseudonym).items():
            changed[what] = changed.get(what, 0) + count
    person.username = pseudonym.username
    person.first_name = "Former"
    person.last_name = f"user {person.pk}"
    person.email = ""
    person.set_unusable_password()
    person.is_staff = False
    person.is_superuser = False
    person.save()
    person.groups.clear()
    person.user_permissions.clear()
    anonymisation = Anonymisation.objects.create(person=person, done_by=by, via=via, changed=changed)
    mentions = find_mentions(pseudonym.terms())
    RemainingMention.objects.bulk_create(
        RemainingMention(anonymisation=anonymisation, model=m.model, object_pk=m.object_pk, field=m.field)
        for m in mentions
    )
    # The apps' bulk rewrites send no signals: the cached pages must still be rendered afresh.
    data_changed()
    choices_changed()
    who = by.username if by is not None else "retention"
    # Only once it holds: a dry run of the retention schedule rolls all of this back.
    transaction.on_commit(
        lambda: security_log.info(
            "anonymised: user=%s by=%s mentions=%s", pseudonym.username, who, len(mentions), person=person
        )
    )
    return anonymisation


def _cell(
    mention: RemainingMention,
) -> tuple[type[models.Model], models.Field[Any, Any], models.QuerySet[Any]]:
    """(model, field, the row's queryset) of a remaining mention; ValidationError when it is gone."""
    try:
        model = apps.get_model(mention.model)
        field = model._meta.get_field(mention.field)
    except (LookupError, ValueError) as error:
        raise ValidationError("That column no longer exists.") from error
    if not isinstance(field, models.Field):  # a relation seen from its other side holds no text
        raise ValidationError("That column no longer exists.")
    return model, field, model._default_manager.filter(pk=mention.object_pk)


def _write_text(mention: RemainingMention, text: str) -> bool:
    """Write `text` into a remaining mention's cell; False when it is the text already there (nothing written)."""
    _, field, rows = _cell(mention)
    text = text.replace("\r\n", "\n")
    current = rows.values_list(field.attname, flat=True).first()
    if isinstance(field, models.JSONField):
        if current is not None and text == json.dumps(current, ensure_ascii=False, indent=2):
            return False
        try:
            value = json.loads(text)
        except ValueError as error:
            raise ValidationError({"text": f"This column holds JSON: {error}."}) from error
    else:
        if text == (current or "").replace("\r\n", "\n"):
            return False
        if field.max_length and len(text) > field.max_length:
            raise ValidationError({"text": f"This column holds at most {field.max_length:,} characters."})
        if not text and not field.blank:
            raise ValidationError({"text": "This column cannot be empty: write the text without the name."})
        value = text
    # An update, not a save: the row's own rules (an update is history, never edited) are what this
    # erasure overrides, and its save() could have side effects.
    if not rows.update(**{field.attname: value}):
        raise ValidationError("That row no longer exists.")
    data_changed()
    return True


@transaction.atomic
def mention_resolve(*, mention: RemainingMention, by: User, text: str | None = None) -> RemainingMention:
    """Edit a remaining mention's text (`text`), or keep it as it is (`text` None, or the text unchanged)."""
    mention = RemainingMention.objects.select_for_update().get(pk=mention.pk)
    if mention.outcome:
        raise ValidationError(f"This was already {mention.get_outcome_display().lower()} by {mention.resolved_by}.")
    edited = text is not None and _write_text(mention, text)
    mention.outcome = RemainingMention.Outcome.EDITED if edited else RemainingMention.Outcome.KEPT
    mention.resolved_by = by
    mention.resolved_at = timezone.now()
    mention.save(update_fields=["outcome", "resolved_by", "resolved_at"])
    return mention
