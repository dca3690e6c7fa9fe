"""The audit app's section on a person's page (tracker.people): the latest of what they accessed."""

from typing import Any

from django.http import HttpRequest

from tracker.models import User

from .models import AccessEvent

LATEST = 5


def context(request: HttpRequest, person: User) -> dict[str, Any]:
    """Their five latest entries in the access log, and how many downloads of their own data there were."""
    return {
        "latest": list(AccessEvent.objects.filter(user=person).order_by("-at", "-pk")[:LATEST]),
        "exports": AccessEvent.objects.filter(subject=person).count(),
        "person": person,
    }
