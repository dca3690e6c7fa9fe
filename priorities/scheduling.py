"""Due-date arithmetic for progress updates, in the plan's local calendar (Europe/London)."""

import calendar
import datetime


def add_months(day, months):
    """The same day of the month `months` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    if year > datetime.MAXYEAR:  # past the calendar's end: the last day there is
        return datetime.date.max
    month = month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(day.day, last_day))


def next_due_date(*, frequency_months, last_update_on=None, action_start=None, plan_start=None):
    """One period after the last accepted update, else after the action's start, else the plan's."""
    if not frequency_months:
        return None
    anchor = last_update_on or action_start or plan_start
    if anchor is None:
        return None
    return add_months(anchor, frequency_months)
