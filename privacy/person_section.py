"""The privacy app's section on a person's page (tracker.people): their data, a hold, anonymisation."""

from .forms import HoldForm
from .models import Anonymisation, RetentionHold
from .retention import RULES
from .services import anonymise_refusal


def context(request, person):
    anonymisation = Anonymisation.objects.filter(person=person).select_related("done_by").first()
    deactivation_rule = next(rule for rule in RULES if rule.key == "deactivated_accounts")
    return {
        "person": person,
        "hold": RetentionHold.objects.open().filter(person=person).select_related("set_by").first(),
        "anonymisation": anonymisation,
        "open_mentions": anonymisation.mentions.filter(outcome="").count() if anonymisation else 0,
        "refusal": anonymise_refusal(person, request.user),
        "hold_form": HoldForm(auto_id="hold_%s"),
        "retention_months": deactivation_rule.period(),
    }
