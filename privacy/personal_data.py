"""The privacy app's own part of a person's data: holds on their account, and its anonymisation."""

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from tracker.models import User
from tracker.personal_data import display_name, register_export

from .models import Anonymisation, RemainingMention, RetentionHold


def _holds(person: User) -> Iterator[dict[str, Any]]:
    holds = RetentionHold.objects.filter(Q(person=person) | Q(set_by=person) | Q(released_by=person)).select_related(
        "person", "set_by", "released_by"
    )
    for hold in holds.order_by("set_at", "pk"):
        yield {
            "their_part": "their account held" if hold.person_id == person.pk else "held someone's account",
            "person": display_name(hold.person),
            "reason": hold.reason,
            "set_by": display_name(hold.set_by),
            "set_at": hold.set_at,
            "released_by": display_name(hold.released_by) if hold.released_by else "",
            "released_at": hold.released_at,
        }


def _anonymisations(person: User) -> Iterator[dict[str, Any]]:
    done = Anonymisation.objects.filter(Q(person=person) | Q(done_by=person)).select_related("person", "done_by")
    for anonymisation in done.order_by("done_at", "pk"):
        yield {
            "person": display_name(anonymisation.person),
            "done_at": anonymisation.done_at,
            "done_by": display_name(anonymisation.done_by) if anonymisation.done_by else "the retention schedule",
            "via": anonymisation.get_via_display(),
        }
    for mention in RemainingMention.objects.filter(resolved_by=person).select_related("anonymisation__person"):
        yield {
            "person": display_name(mention.anonymisation.person),
            "done_at": mention.resolved_at,
            "done_by": display_name(person),
            "via": f"{mention.get_outcome_display()}: {mention.model} #{mention.object_pk} {mention.field}",
        }


def register() -> None:
    register_export(
        name="retention_holds",
        title="Holds on their account, and holds they set or released",
        models=["privacy.RetentionHold"],
        rows=_holds,
    )
    register_export(
        name="anonymisations",
        title="Anonymisations of their account or made by them",
        models=["privacy.Anonymisation", "privacy.RemainingMention"],
        rows=_anonymisations,
    )
