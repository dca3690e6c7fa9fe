"""The register's "Success indicator" filter: the indicators app adds it to the plan's register."""

import django_filters

from priorities.filters import add_register_filter
from priorities.plan_choice import current_plan

from .models import SuccessIndicator


def _indicators(request):
    """The indicators of the plan on screen (plan_choice.current_plan), as the register's other choices."""
    if request is None:
        return SuccessIndicator.objects.none()
    return SuccessIndicator.objects.live().filter(plan=current_plan(request))


def add_indicator_filter():
    add_register_filter(
        "indicator",
        django_filters.ModelChoiceFilter(
            field_name="indicators", queryset=_indicators, label="Success indicator", empty_label="Any indicator"
        ),
        after="objective",
    )
