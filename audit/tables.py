from collections.abc import Iterator
from typing import Any

import django_tables2 as tables
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html

from tracker.personal_data import display_name

from .models import AccessEvent

EMPTY = "—"


class AccessEventTable(tables.Table):
    """The access log, newest first. `value_*` give the plain values the CSV uses."""

    at = tables.DateTimeColumn(verbose_name="When", format="j M Y H:i", order_by=("at", "pk"))
    who = tables.Column(verbose_name="Who", accessor="user", orderable=False, empty_values=())
    what = tables.Column(verbose_name="What", orderable=False)
    rows = tables.Column(verbose_name="Rows", orderable=False, empty_values=())
    client = tables.Column(verbose_name="From", orderable=False)

    class Meta:
        model = AccessEvent
        fields = ()
        sequence = ("at", "who", "what", "rows", "client")
        order_by = ("-at",)
        attrs = {"class": "govuk-table app-table--compact", "id": "access-log"}
        empty_text = "Nothing in the access log matches these filters."

    def render_who(self, record: AccessEvent) -> str:
        if record.user is None:
            return "Not signed in"
        name = display_name(record.user)
        detail = record.get_role_display()
        if record.organisation is not None:
            detail = f"{detail}, {record.organisation.display_name}"
        return format_html(
            '<a class="govuk-link" href="{}">{}</a><br><span class="govuk-hint govuk-!-font-size-16">{}</span>',
            reverse("person-detail", args=[record.user_id]),
            name,
            detail,
        )

    def render_what(self, record: AccessEvent) -> str:
        whose = ""
        if record.subject is not None:
            whose = format_html(
                ' of <a class="govuk-link" href="{}">{}</a>',
                reverse("person-detail", args=[record.subject_id]),
                display_name(record.subject),
            )
        return format_html(
            '{}: {}{}<br><span class="govuk-hint govuk-!-font-size-16 app-break-anywhere">{}</span>',
            record.get_kind_display(),
            record.what,
            whose,
            record.path,
        )

    def render_rows(self, record: AccessEvent) -> str:
        if record.rows is None:
            return EMPTY
        text = f"{record.rows:,}"
        return text if record.complete else format_html("{}<br><strong>broken off</strong>", text)


CSV_HEADER = [
    "when",
    "who",
    "username",
    "role",
    "organisation",
    "kind",
    "what",
    "whose data",
    "address",
    "from",
    "rows",
    "complete",
]


def csv_rows(events: QuerySet[AccessEvent]) -> Iterator[list[Any]]:
    """The access log's download: a header, then one row per event (the queryset is read as it streams)."""
    yield CSV_HEADER
    for event in events.iterator(chunk_size=2000):
        yield [
            event.at,
            display_name(event.user) if event.user else "",
            event.user.username if event.user else "",
            event.get_role_display() if event.role else "",
            event.organisation.name if event.organisation else "",
            event.get_kind_display(),
            event.what,
            display_name(event.subject) if event.subject else "",
            event.path,
            event.client,
            event.rows,
            "yes" if event.complete else "no",
        ]
