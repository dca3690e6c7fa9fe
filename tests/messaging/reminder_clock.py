"""A wall clock for reminder tests: what was written and sent when is what the reminder schedule counts from."""

import datetime

from django.utils import timezone


class Clock:
    """`timezone.now()` at 08:00 London time (the daily job's hour) on the day set; rows' times follow it."""

    def __init__(self, monkeypatch, day):
        self.set(day)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def set(self, day, hour=8):
        self.now = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))

    def at(self, day, hour=8):
        """An aware datetime on `day` (for rows a test writes as sent earlier)."""
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
