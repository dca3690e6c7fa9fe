import datetime
from decimal import Decimal

import pytest

from indicators.progress import clamp_percent, format_value, period_label, progress_percent, status_mix
from priorities.models import Status
from tests.factories import ActionFactory


def test_progress_higher_is_better():
    assert progress_percent(baseline=10, target=30, value=20, direction="higher") == 50
    assert progress_percent(baseline=10, target=30, value=30, direction="higher") == 100
    assert progress_percent(baseline=10, target=30, value=40, direction="higher") == 150
    assert progress_percent(baseline=10, target=30, value=5, direction="higher") == -25


def test_progress_lower_is_better_runs_the_other_way():
    # Fewer victims re-trafficked: from 40 down to 10 is the aim, so 25 is half way.
    assert progress_percent(baseline=40, target=10, value=25, direction="lower") == 50
    assert progress_percent(baseline=40, target=10, value=10, direction="lower") == 100
    assert progress_percent(baseline=40, target=10, value=50, direction="lower") == -33
    # The same figures read as "higher is better" would be nonsense: the target is below the baseline.
    assert progress_percent(baseline=40, target=10, value=25, direction="higher") is None


def test_progress_cannot_be_said_without_figures():
    assert progress_percent(baseline=None, target=10, value=5) is None
    assert progress_percent(baseline=0, target=None, value=5) is None
    assert progress_percent(baseline=0, target=10, value=None) is None
    assert progress_percent(baseline=5, target=5, value=5) is None


def test_progress_with_decimals_rounds_half_up():
    assert progress_percent(baseline=Decimal("0"), target=Decimal("3"), value=Decimal("1")) == 33
    assert progress_percent(baseline=Decimal("0"), target=Decimal("8"), value=Decimal("1")) == 13


def test_clamp_percent():
    assert clamp_percent(150) == 100
    assert clamp_percent(-20) == 0
    assert clamp_percent(None) is None


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (Decimal("1200.00"), "count", "1,200"),
        (Decimal("12.50"), "count", "12.5"),
        (Decimal("45.50"), "percentage", "45.5%"),
        (Decimal("1200"), "currency", "£1,200"),
        (Decimal("1200.5"), "currency", "£1,200.50"),
        ("Guidance published", "text", "Guidance published"),
        (None, "count", ""),
    ],
)
def test_format_value(value, unit, expected):
    assert format_value(value, unit) == expected


def test_period_label():
    d = datetime.date
    assert period_label(d(2024, 1, 1), d(2024, 12, 31)) == "2024"
    assert period_label(d(2024, 4, 1), d(2024, 6, 30)) == "Q2 2024"
    assert period_label(d(2024, 2, 1), d(2024, 2, 29)) == "February 2024"
    assert period_label(d(2024, 4, 1), d(2025, 3, 31)) == "1 Apr 2024 to 31 Mar 2025"


@pytest.mark.django_db
def test_status_mix_counts_in_status_order():
    actions = [
        ActionFactory(status=Status.AT_RISK),
        ActionFactory(status=Status.ON_TRACK),
        ActionFactory(status=Status.AT_RISK),
    ]
    assert status_mix(actions) == [(Status.ON_TRACK, 1), (Status.AT_RISK, 2)]
    assert status_mix([]) == []


def test_short_period_label_fits_an_axis():
    from indicators.progress import short_period_label

    d = datetime.date
    assert short_period_label(d(2024, 1, 1), d(2024, 12, 31)) == "2024"
    assert short_period_label(d(2024, 4, 1), d(2024, 6, 30)) == "Q2 2024"
    assert short_period_label(d(2024, 2, 1), d(2024, 2, 29)) == "Feb 2024"
    assert short_period_label(d(2024, 4, 1), d(2025, 3, 31)) == "to Mar 2025"
