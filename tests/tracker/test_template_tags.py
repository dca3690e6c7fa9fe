"""The template filters of tracker_tags."""

import datetime

from django.template import Context, Template
from django.utils import timezone

from tracker.templatetags.tracker_tags import html_datetime


def test_html_datetime_gives_a_valid_html_date_or_time_to_the_second_in_the_current_time_zone():
    moment = datetime.datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=datetime.UTC)
    with timezone.override("Europe/London"):
        # HTML allows at most three digits of a second; Django's date:"c" writes six.
        assert html_datetime(moment) == "2026-07-01T10:30:15+01:00"
        rendered = Template('{% load tracker_tags %}<time datetime="{{ at|html_datetime }}">').render(
            Context({"at": moment})
        )
    assert rendered == '<time datetime="2026-07-01T10:30:15+01:00">'
    assert html_datetime(datetime.datetime(2026, 1, 2, 3, 4, 5, 6)) == "2026-01-02T03:04:05"
    assert html_datetime(datetime.date(2026, 1, 2)) == "2026-01-02"
    assert html_datetime(None) == ""
