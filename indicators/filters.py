"""The register's "Success indicator" filter: the indicators app adds it to the plan's register."""

import django_filters

from priorities.filters import add_register_filter

from .models import SuccessIndicator


def _indicators(request):
    return SuccessIndicator.objects.live() if request is not None else SuccessIndicator.objects.none()


def add_indicator_filter():
    add_register_filter(
        "indicator",
        django_filters.ModelChoiceFilter(
            field_name="indicators", queryset=_indicators, label="Success indicator", empty_label="Any indicator"
        ),
        after="objective",
    )
