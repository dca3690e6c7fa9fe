"""Pure functions about measures: progress towards a target, how a value and a period read.

No database access here, so the dashboard, the list, the charts and the exports share one rule.
"""

import calendar
import datetime
from decimal import Decimal, InvalidOperation

from priorities.models import Status

HIGHER = "higher"
LOWER = "lower"


def progress_percent(*, baseline, target, value, direction=HIGHER):
    """Per cent of the way from baseline to target that `value` has come, respecting the direction.

    0 is the baseline, 100 the target; below 0 means worse than the baseline, above 100 beyond the
    target. For "lower is better" progress runs downwards. None when it cannot be said: a missing
    figure, a target equal to the baseline, or a target on the wrong side of the baseline.
    """
    if baseline is None or target is None or value is None:
        return None
    try:
        baseline, target, value = Decimal(baseline), Decimal(target), Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    if direction == LOWER:
        span, gained = baseline - target, baseline - value
    else:
        span, gained = target - baseline, value - baseline
    if span <= 0:
        return None
    return int((gained * 100 / span).quantize(Decimal("1"), rounding="ROUND_HALF_UP"))


def clamp_percent(percent):
    """A progress figure squeezed into 0–100, for drawing a bar."""
    if percent is None:
        return None
    return max(0, min(100, percent))


def _plain_number(value):
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value.normalize():,f}"


def format_value(value, unit):
    """A value as people read it: 1,200 / 45.5% / £1,200.50 / the text itself; '' for nothing."""
    if value is None or value == "":
        return ""
    if unit == "text":
        return str(value)
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    if unit == "percentage":
        return f"{_plain_number(number)}%"
    if unit == "currency":
        sign = "-" if number < 0 else ""
        number = abs(number)
        if number == number.to_integral_value():
            return f"{sign}£{number:,.0f}"
        return f"{sign}£{number:,.2f}"
    return _plain_number(number)


def period_label(start, end):
    """'2024' for a calendar year, 'Q1 2024' for a quarter, 'March 2024' for a month, else 'start to end'."""
    if start is None or end is None:
        return ""
    if isinstance(start, datetime.datetime):
        start = start.date()
    if isinstance(end, datetime.datetime):
        end = end.date()
    last_day = calendar.monthrange(end.year, end.month)[1]
    if start.day == 1 and end.day == last_day and start.year == end.year:
        if start.month == 1 and end.month == 12:
            return str(start.year)
        if start.month == end.month:
            return start.strftime("%B %Y")
        if end.month - start.month == 2 and start.month in (1, 4, 7, 10):
            return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"{start:%-d %b %Y} to {end:%-d %b %Y}"


def short_period_label(start, end):
    """A period short enough for a chart's axis: as period_label, or the month the period ends in."""
    label = period_label(start, end)
    if " to " in label:
        return f"to {end:%b %Y}"
    if label[:1].isalpha() and not label.startswith("Q"):
        return f"{start:%b %Y}"  # a whole month
    return label


def status_mix(actions):
    """[(Status, count)] for the statuses present among `actions`, in the order of the status list."""
    counts: dict[str, int] = {}
    for action in actions:
        counts[action.status] = counts.get(action.status, 0) + 1
    return [(status, counts[status.value]) for status in Status if counts.get(status.value)]


def parse_period_label(label):
    """(start, end) from a period_label: the history stores periods as people read them."""
    label = label.strip()
    if " to " in label:
        start, end = label.split(" to ")
        return (
            datetime.datetime.strptime(start, "%d %b %Y").date(),
            datetime.datetime.strptime(end, "%d %b %Y").date(),
        )
    if label.isdigit():
        year = int(label)
        return datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    if label.startswith("Q"):
        quarter, year = label[1:].split()
        first = (int(quarter) - 1) * 3 + 1
        return _month_span(int(year), first, first + 2)
    month = datetime.datetime.strptime(label, "%B %Y").date()
    return _month_span(month.year, month.month, month.month)


def _month_span(year, first, last):
    return datetime.date(year, first, 1), datetime.date(year, last, calendar.monthrange(year, last)[1])


def parse_value(text):
    """The number a format_value text shows ('1,200', '45.5%', '-£1,200.50'); None for ''."""
    text = (text or "").strip().replace("£", "").replace(",", "").rstrip("%")
    return Decimal(text) if text else None
