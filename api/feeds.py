"""Data feeds for Excel and Power BI: one tidy table per entity, as CSV and as JSON, streamed.

Each feed is one row per record with ids to join on (`action_id`, `organisation_id` ...), ISO 8601
dates and times, and the same visibility as the API's lists (the pages' `visible_to(user)`). Rows
come from `values_list().iterator()` in chunks, so a feed's memory does not grow with its length.
The CSV is written as the register's download is (tracker.spreadsheets: a byte-order mark for Excel,
every cell quoted, text a spreadsheet could run as a formula prefixed with '), each column's
conversion chosen once from its type rather than tested cell by cell.
"""

import csv
import datetime
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.http import HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from indicators.models import Measure, Measurement, MeasurementSubmission
from priorities.models import Action, ActionPartner, ActionQuerySet, ProgressUpdate, Status, Submission
from tracker.models import Organisation, User
from tracker.spreadsheets import CSV_CHUNK_ROWS, neutralise, person_name

from .permissions import TokenScope
from .visibility import organisations_visible_to

CHUNK_ROWS = 2000
STATUS_LABELS = dict(Status.choices)


def _local_iso(value: datetime.datetime) -> str:
    """A time in the site's zone with its offset (Z for UTC), as the API's lists write it."""
    return timezone.localtime(value).isoformat().replace("+00:00", "Z")


def _converters(columns: Iterable["Column"], fmt: str) -> list[tuple[int, Callable[[Any], Any]]]:
    """[(index, function)] for the columns whose values need one: the rest are written as they come.

    Chosen once per feed from the columns' types rather than tested cell by cell: a feed of 10,000
    rows has 160,000 cells. Free text in CSV gets the formula guard; choices (statuses, roles) never
    need it.
    """
    pairs: list[tuple[int, Callable[[Any], Any]]] = []
    function: Callable[[Any], Any] | None
    for index, column in enumerate(columns):
        field = column.field
        if isinstance(field, serializers.DateTimeField):
            function = _local_iso
        elif isinstance(field, serializers.DateField):
            function = datetime.date.isoformat
        elif isinstance(field, serializers.BooleanField):
            function = {True: "true", False: "false"}.get if fmt == "csv" else None
        elif isinstance(field, serializers.FloatField):
            function = float if fmt == "json" else None
        elif isinstance(field, serializers.ChoiceField):
            function = None
        elif isinstance(field, serializers.CharField):
            function = neutralise if fmt == "csv" else None
        else:
            function = None
        if function is not None:
            pairs.append((index, function))
    return pairs


def _converted(feed: "Feed", user: User | AnonymousUser, fmt: str) -> Iterator[list[Any]]:
    """The feed's rows with each value ready for `fmt` (None stays None)."""
    pairs = _converters(feed.columns, fmt)
    for cells in feed.records(user):
        for index, function in pairs:
            value = cells[index]
            if value is not None:
                cells[index] = function(value)
        yield cells


@dataclass(frozen=True)
class Column:
    name: str
    field: serializers.Field
    source: str | None = None  # the values_list() column; None: computed by the feed's `row`


@dataclass(frozen=True)
class Feed:
    """One table: its columns, the rows a person may see, and how a row of values becomes cells."""

    name: str
    description: str
    columns: tuple[Column, ...]
    rows: Callable[[User | AnonymousUser], QuerySet[Any]]  # (the person asking) -> the rows they may see
    # Values `row` needs beyond the columns' own (read after them), and how it makes the cells.
    extra_sources: tuple[str, ...] = ()
    row: Callable[[tuple], list] | None = None

    @property
    def sources(self) -> list[str]:
        return [column.source for column in self.columns if column.source] + list(self.extra_sources)

    def records(self, user: User | AnonymousUser) -> Iterable[list]:
        """Each visible record as a list of cells in column order (one query, read in chunks: none per row)."""
        queryset = self.rows(user).values_list(*self.sources)
        for values in queryset.iterator(chunk_size=CHUNK_ROWS):
            yield self.row(values) if self.row else list(values)


def _int(help_text: str, **kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(help_text=help_text, **kwargs)


def _text(help_text: str = "", **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(help_text=help_text, **kwargs)


def _date(help_text: str = "", **kwargs: Any) -> serializers.DateField:
    return serializers.DateField(help_text=help_text, allow_null=True, **kwargs)


def _time(help_text: str = "", **kwargs: Any) -> serializers.DateTimeField:
    return serializers.DateTimeField(help_text=help_text, **kwargs)


def _number(help_text: str = "") -> serializers.FloatField:
    return serializers.FloatField(help_text=help_text, allow_null=True)


# --- the feeds --------------------------------------------------------------------------------------


def _overdue() -> Case:
    """Action.is_overdue, in SQL (the same expression as ActionQuerySet.for_register's overdue_flag)."""
    today = timezone.localdate()
    return Case(
        When(Q(next_update_due__lt=today) & ~Q(status=Status.COMPLETED), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def _action_rows(user: User | AnonymousUser) -> ActionQuerySet:
    return Action.objects.visible_to(user).live().annotate(overdue=_overdue()).order_by("sort_key", "pk")


def _action_row(values: tuple) -> list:
    head, (owner_id, start, target, frequency, last_update, due, overdue), owner = values[:7], values[7:14], values[14:]
    status = head[6]
    return [
        *head,
        STATUS_LABELS.get(status, status),
        owner_id,
        person_name(*owner) if owner_id else None,
        start,
        target,
        frequency,
        last_update,
        due,
        overdue,
    ]


ACTIONS = Feed(
    name="actions",
    description="One row per live action you may see, in the register's order (by code).",
    columns=(
        Column("action_id", _int("The action's id."), "pk"),
        Column("plan_id", _int("The plan's id."), "objective__priority__plan_id"),
        Column("priority_id", _int("The priority's id."), "objective__priority_id"),
        Column("objective_id", _int("The objective's id."), "objective_id"),
        Column("code", _text("As published, e.g. 5.11."), "code"),
        Column("title", _text(), "title"),
        Column("status", serializers.ChoiceField(choices=Status.choices), "status"),
        Column("status_label", _text("The status as the pages show it.")),
        Column("owner_id", _int("The owner's id (a member of the secretariat).", allow_null=True), "owner_id"),
        Column("owner_name", _text(allow_null=True)),
        Column("start_date", _date(), "start_date"),
        Column("target_date", _date(), "target_date"),
        Column("update_frequency_months", _int("Months between updates.", allow_null=True), "update_frequency"),
        Column("last_update_at", _time("When progress was last recorded.", allow_null=True), "last_update__created_at"),
        Column("next_update_due", _date(), "next_update_due"),
        Column("overdue", serializers.BooleanField(help_text="The next update is overdue, not completed."), "overdue"),
    ),
    rows=_action_rows,
    extra_sources=("owner__first_name", "owner__last_name", "owner__username"),
    row=_action_row,
)

ACTION_PARTNERS = Feed(
    name="action-partners",
    description="One row per partnership: which organisation partners which live action, and as lead or supporting.",
    columns=(
        Column("action_id", _int("The action's id."), "action_id"),
        Column("organisation_id", _int("The organisation's id."), "organisation_id"),
        Column("role", serializers.ChoiceField(choices=ActionPartner.Role.choices), "role"),
        Column(
            "last_reported_at",
            _time("When the organisation last reported on the action.", allow_null=True),
            "last_reported_at",
        ),
    ),
    rows=lambda user: ActionPartner.objects.filter(
        action__in=Action.objects.visible_to(user).live().values("pk")
    ).order_by("action__sort_key", "action_id", "role", "organisation_id"),
)


STATUS_HISTORY = Feed(
    name="status-history",
    description="One row per recorded progress update on the actions you may see, oldest first.",
    columns=(
        Column("update_id", _int("The update's id."), "pk"),
        Column("action_id", _int("The action's id."), "action_id"),
        Column("created_at", _time("When it was recorded."), "created_at"),
        Column("status", serializers.ChoiceField(choices=Status.choices), "status"),
        Column("previous_status", _text("The status before it (empty for the first)."), "previous_status"),
        Column("note", _text(), "note"),
        Column("evidence_url", _text(), "evidence_url"),
        Column("organisation_id", _int("The partner that reported it, if any.", allow_null=True), "organisation_id"),
        Column("public", serializers.BooleanField(help_text="Shown on the public pages."), "is_public"),
    ),
    rows=lambda user: ProgressUpdate.objects.visible_to(user).order_by("created_at", "pk"),
)


MEASURES = Feed(
    name="measures",
    description="One row per measure of a live success indicator.",
    columns=(
        Column("measure_id", _int("The measure's id."), "pk"),
        Column("plan_id", _int("The plan's id."), "indicator__plan_id"),
        Column("indicator_id", _int("The indicator's id."), "indicator_id"),
        Column("indicator_code", _text(), "indicator__code"),
        Column("name", _text(), "name"),
        Column("unit", serializers.ChoiceField(choices=Measure.Unit.choices), "unit"),
        Column("direction", serializers.ChoiceField(choices=Measure.Direction.choices), "direction"),
        Column("baseline_value", _number(), "baseline_value"),
        Column("baseline_date", _date(), "baseline_date"),
        Column("target_value", _number(), "target_value"),
        Column("target_date", _date(), "target_date"),
        Column(
            "reporting_organisation_id",
            _int("The partner that reports it, if any.", allow_null=True),
            "reporting_organisation_id",
        ),
        Column("reporting_period_months", _int("The months each value covers."), "reporting_period"),
    ),
    rows=lambda user: Measure.objects.filter(indicator__archived_at__isnull=True).order_by("indicator_id", "pk"),
)


MEASUREMENTS = Feed(
    name="measurements",
    description="One row per recorded value of a measure of a live indicator.",
    columns=(
        Column("measurement_id", _int("The measurement's id."), "pk"),
        Column("measure_id", _int("The measure's id."), "measure_id"),
        Column("indicator_id", _int("The indicator's id."), "measure__indicator_id"),
        Column("period_start", _date(), "period_start"),
        Column("period_end", _date(), "period_end"),
        Column("value", _number("For numbers."), "value"),
        Column("text_value", _text("For measures whose unit is text."), "text_value"),
        Column("source", _text(), "source"),
        Column("note", _text(), "note"),
        Column("recorded_at", _time(), "recorded_at"),
        Column("public", serializers.BooleanField(help_text="Shown on the public pages."), "is_public"),
    ),
    rows=lambda user: Measurement.objects.filter(measure__indicator__archived_at__isnull=True).order_by(
        "measure_id", "period_start", "pk"
    ),
)


SUBMISSIONS = Feed(
    name="submissions",
    description="One row per progress report a partner submitted (staff: all; a partner: its own), oldest first.",
    columns=(
        Column("submission_id", _int("The submission's id."), "pk"),
        Column("action_id", _int("The action's id."), "action_id"),
        Column("organisation_id", _int("The reporting organisation's id."), "organisation_id"),
        Column("submitted_at", _time(), "submitted_at"),
        Column("status", serializers.ChoiceField(choices=Status.choices), "status"),
        Column("note", _text(), "note"),
        Column("evidence_url", _text(), "evidence_url"),
        Column("state", serializers.ChoiceField(choices=Submission.State.choices), "state"),
        Column("decided_at", _time(allow_null=True), "decided_at"),
        Column("return_reason", _text(), "return_reason"),
        Column("update_id", _int("The update it became, once accepted.", allow_null=True), "progress_update_id"),
        Column(
            "reported_through_api",
            _text("The access token's name, if it came through the API.", allow_null=True),
            "api_report__token_name",
        ),
    ),
    rows=lambda user: Submission.objects.visible_to(user).order_by("submitted_at", "pk"),
)


VALUE_SUBMISSIONS = Feed(
    name="value-submissions",
    description="One row per value a partner submitted for a measure (staff: all; a partner: its own), oldest first.",
    columns=(
        Column("value_submission_id", _int("The value submission's id."), "pk"),
        Column("measure_id", _int("The measure's id."), "measure_id"),
        Column("organisation_id", _int("The reporting organisation's id."), "organisation_id"),
        Column("submitted_at", _time(), "submitted_at"),
        Column("period_start", _date(), "period_start"),
        Column("period_end", _date(), "period_end"),
        Column("value", _number(), "value"),
        Column("text_value", _text(), "text_value"),
        Column("source", _text(), "source"),
        Column("note", _text(), "note"),
        Column("state", serializers.ChoiceField(choices=MeasurementSubmission.State.choices), "state"),
        Column("decided_at", _time(allow_null=True), "decided_at"),
        Column("measurement_id", _int("The measurement it became, once accepted.", allow_null=True), "measurement_id"),
        Column(
            "reported_through_api",
            _text("The access token's name, if it came through the API.", allow_null=True),
            "api_report__token_name",
        ),
    ),
    rows=lambda user: MeasurementSubmission.objects.visible_to(user).order_by("submitted_at", "pk"),
)


ORGANISATIONS = Feed(
    name="organisations",
    description="One row per organisation you may see (staff: all; a partner: its own and its actions' partners).",
    columns=(
        Column("organisation_id", _int("The organisation's id."), "pk"),
        Column("name", _text(), "name"),
        Column("short_name", _text(), "short_name"),
        Column("slug", _text(), "slug"),
        Column("kind", serializers.ChoiceField(choices=Organisation.Kind.choices), "kind"),
        Column("country", _text(), "country"),
        Column("website", _text(), "website"),
    ),
    rows=lambda user: organisations_visible_to(user).order_by("name", "pk"),
)

FEEDS = {
    feed.name: feed
    for feed in (
        ACTIONS,
        ACTION_PARTNERS,
        STATUS_HISTORY,
        MEASURES,
        MEASUREMENTS,
        SUBMISSIONS,
        VALUE_SUBMISSIONS,
        ORGANISATIONS,
    )
}


# --- the views --------------------------------------------------------------------------------------


class JsonErrors(BaseContentNegotiation):
    """A feed streams its own format; anything else it answers (an error) is JSON, whatever Accept says."""

    # The stubs say Iterable; DRF passes the request's parsers, a list or tuple.
    def select_parser(self, request: Request, parsers: Sequence[BaseParser]) -> BaseParser | None:  # type: ignore[override]
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return JSONRenderer(), JSONRenderer.media_type


def _json_lines(feed: Feed, user: User | AnonymousUser) -> Iterator[str]:
    """One JSON array, an object per line, sent a chunk of rows at a time."""
    names = [column.name for column in feed.columns]
    rows = _converted(feed, user, "json")
    yield "["
    separator = "\n"
    while chunk := list(itertools.islice(rows, CSV_CHUNK_ROWS)):
        yield separator + ",\n".join(
            json.dumps(dict(zip(names, cells, strict=True)), ensure_ascii=False) for cells in chunk
        )
        separator = ",\n"
    yield "\n]\n"


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(feed: Feed, user: User | AnonymousUser) -> Iterator[str]:
    """A byte-order mark and the heading, then the rows a chunk at a time, every cell quoted (as csv_lines)."""
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield "\ufeff" + writer.writerow([column.name for column in feed.columns])
    rows = _converted(feed, user, "csv")
    while chunk := list(itertools.islice(rows, CSV_CHUNK_ROWS)):
        yield "".join(writer.writerow(cells) for cells in chunk)


class FeedView(APIView):
    """GET one feed as CSV or JSON, streamed."""

    feed: Feed
    fmt: str
    permission_classes = [TokenScope]
    content_negotiation_class = JsonErrors

    def get(self, request: Request) -> StreamingHttpResponse:
        if self.fmt == "csv":
            body, content_type = _csv_lines(self.feed, request.user), "text/csv; charset=utf-8"
        else:
            body, content_type = _json_lines(self.feed, request.user), "application/json"
        response = StreamingHttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.feed.name}.{self.fmt}"'
        return response

    # The stubs say Response; a feed's own answer is a StreamingHttpResponse (its errors are Responses).
    def finalize_response(  # type: ignore[override]
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[arg-type]
        patch_vary_headers(response, ["Authorization"])
        return response


def feed_view(feed: Feed, fmt: str) -> type[FeedView]:
    """A view class for one feed and format, documented with its columns."""
    if fmt == "csv":
        response = OpenApiResponse(
            response=OpenApiTypes.STR,
            description=(
                "CSV (UTF-8 with a byte-order mark, every cell quoted), a heading row then one row per record: "
                + ", ".join(column.name for column in feed.columns)
                + ". Empty cells are nulls; true and false are written as such."
            ),
        )
        responses = {(200, "text/csv"): response}
    else:
        rows = inline_serializer(
            name=f"{''.join(part.title() for part in feed.name.split('-'))}FeedRow",
            fields={column.name: column.field for column in feed.columns},
            many=True,
        )
        responses = {(200, "application/json"): OpenApiResponse(response=rows, description="The rows, in one array.")}
    schema = extend_schema(
        summary=f"The {feed.name.replace('-', ' ')} feed as {fmt.upper()}",
        description=feed.description + " Streamed: the whole table in one response, no pages.",
        responses=responses,
        tags=["feeds"],
        operation_id=f"feed_{feed.name.replace('-', '_')}_{fmt}",
    )

    def get(self: FeedView, request: Request) -> StreamingHttpResponse:
        return FeedView.get(self, request)

    name = f"{feed.name.title().replace('-', '')}{fmt.title()}Feed"
    return type(name, (FeedView,), {"feed": feed, "fmt": fmt, "get": schema(get)})
