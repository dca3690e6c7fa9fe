"""The privacy app's section on a person's page (tracker.people): their data, a hold, anonymisation."""

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest

from tracker.models import User

from .forms import HoldForm
from .models import Anonymisation, RetentionHold
from .retention import RULES
from .services import anonymise_refusal


def context(request: HttpRequest, person: User) -> dict[str, Any]:
    """Two queries: their open hold, and their anonymisation with how many texts still need the secretariat."""
    anonymisation = (
        Anonymisation.objects.filter(person=person)
        .select_related("done_by")
        .annotate(open_mentions=Count("mentions", filter=Q(mentions__outcome="")))
        .first()
    )
    hold = RetentionHold.objects.open().filter(person=person).select_related("set_by").first()
    deactivation_rule = next(rule for rule in RULES if rule.key == "deactivated_accounts")
    # The person pages are the secretariat's: someone is signed in.
    viewer = request.user if isinstance(request.user, User) else None
    return {
        "person": person,
        "hold": hold,
        "anonymisation": anonymisation,
        "open_mentions": anonymisation.open_mentions if anonymisation else 0,
        "refusal": anonymise_refusal(person, viewer, anonymised=anonymisation is not None, held=hold is not None),
        "hold_form": HoldForm(auto_id="hold_%s"),
        "retention_months": deactivation_rule.period(),
    }
