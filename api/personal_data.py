"""The API's part of a person's data (tracker.personal_data): their access tokens, and those they revoked.

Anonymising deletes the person's tokens (they act as the person; the replayable answers of their
idempotent requests go with them). A token the person revoked for someone else keeps its row, with
the revocation now pointing at "Former user N" like every other history.
"""

from collections.abc import Iterator
from typing import Any

from django.db.models import Q

from tracker.models import User
from tracker.personal_data import Pseudonym, display_name, register_anonymiser, register_export

from .models import AccessToken


def _tokens(person: User) -> Iterator[dict[str, Any]]:
    tokens = AccessToken.objects.filter(Q(user=person) | Q(revoked_by=person)).select_related("user", "revoked_by")
    for token in tokens.order_by("created_at", "pk"):
        yield {
            "their_part": "owner" if token.user_id == person.pk else "revoked it",
            "owner": display_name(token.user),
            "name": token.name,
            "scope": token.get_scope_display(),
            "starts_with": token.prefix,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
            "last_used_at": token.last_used_at,
            "revoked_at": token.revoked_at,
            "revoked_by": display_name(token.revoked_by) if token.revoked_by else "",
        }


def _anonymise(person: User, pseudonym: Pseudonym) -> dict[str, int]:
    # The secrets' hashes are useless without the secrets, but a token of a person who left must not live on.
    deleted, _ = AccessToken.objects.filter(user=person).delete()
    return {"access tokens (and their stored idempotent answers) removed": deleted}


def register() -> None:
    """Tell tracker.personal_data what the API holds about a person (called from ApiConfig.ready())."""
    register_export(
        name="access_tokens",
        title="Personal access tokens for the API they made or revoked (never the secret itself)",
        models=["api.AccessToken"],
        rows=_tokens,
    )
    register_anonymiser(name="the API's access tokens", models=["api.AccessToken"], anonymise=_anonymise)
