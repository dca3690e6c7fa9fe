"""The read API and the two writes for integrations: every list starts from the pages' `visible_to(user)`."""

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import (
    BooleanField,
    Case,
    ExpressionWrapper,
    IntegerField,
    Model,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import quote_etag
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action as route
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from indicators.models import Measure, Measurement, MeasurementSubmission, SuccessIndicator
from messaging.models import Reminder
from priorities.models import (
    Action,
    ActionPartner,
    Objective,
    Plan,
    Priority,
    ProgressUpdate,
    Status,
    Submission,
)
from tracker.models import Organisation

from . import filters, serializers
from .filters import MAX_ID
from .models import AccessToken
from .permissions import StaffOnly, TokenScope
from .services import (
    action_report,
    clean_idempotency_key,
    idempotent,
    measure_report,
    request_fingerprint,
)
from .visibility import organisations_visible_to

IDEMPOTENCY_HEADER = "Idempotency-Key"
# The register's order of severity, for ordering=status.
SEVERITY = [Status.OFF_TRACK, Status.AT_RISK, Status.ON_TRACK, Status.NOT_STARTED, Status.COMPLETED]

_M = TypeVar("_M", bound=Model)
# What a write answers, for the idempotency record: (status, body, location).
Created = tuple[int, dict, str]


class Ordering(OrderingFilter):
    """`ordering=<name>` or `ordering=-<name>` for one of the view's `ordering_names`; anything else is a 400."""

    ordering_description = "Sort by this field; a leading minus sorts in reverse."

    # The stubs say any APIView; Ordering is only among ApiViewSet's filter_backends, which has ordering_names.
    def get_ordering(  # type: ignore[override]
        self, request: Request, queryset: QuerySet[Any], view: "ApiViewSet[Any]"
    ) -> list[str]:
        value = request.query_params.get(self.ordering_param)
        if value is None:
            return view.ordering
        names = view.ordering_names
        descending = value.startswith("-")
        name = value.removeprefix("-")
        if name not in names:
            raise ValidationError({self.ordering_param: [f"Sort by one of: {', '.join(sorted(names))}."]})
        field = names[name]
        return [f"-{field}" if descending else field, "-pk" if descending else "pk"]

    def get_schema_operation_parameters(self, view: "ApiViewSet[Any]") -> list[dict[str, Any]]:  # type: ignore[override]
        values = sorted(view.ordering_names)
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": self.ordering_description,
                "schema": {"type": "string", "enum": [v for name in values for v in (name, f"-{name}")]},
            }
        ]


class ApiViewSet(viewsets.ReadOnlyModelViewSet[_M]):
    """What every endpoint shares: ids as numbers, ETags (If-None-Match → 304), Vary: Authorization."""

    lookup_value_regex = "[0-9]+"
    filter_backends = [DjangoFilterBackend, Ordering]
    ordering_names = {"id": "pk"}
    ordering = ["pk"]

    def get_object(self) -> _M:
        value = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
            raise NotFound("Not found: there is no such item, or it is not yours to see.")
        return super().get_object()

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # What a token reads depends on whose it is: no cache may answer one token with another's data.
        patch_vary_headers(response, ["Authorization"])
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            response.add_post_render_callback(lambda rendered: _with_etag(request, rendered))
        return response


def _with_etag(request: Request, response: HttpResponse) -> HttpResponse | None:
    """A strong ETag from the body; a matching If-None-Match gets 304 with no body."""
    etag = quote_etag(hashlib.sha256(response.content).hexdigest()[:40])
    response["ETag"] = etag
    return get_conditional_response(request, etag=etag, response=response)


class PlanViewSet(ApiViewSet[Plan]):
    """Plans: everyone signed in sees every plan, as on the plan pages."""

    serializer_class = serializers.PlanSerializer
    queryset = Plan.objects.all()
    ordering_names = {"id": "pk", "title": "title", "start_date": "start_date"}
    ordering = ["title", "pk"]


class PriorityViewSet(ApiViewSet[Priority]):
    queryset = Priority.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.PrioritySerializer
    filterset_class = filters.PriorityFilter
    ordering_names = {"id": "pk", "number": "number"}
    ordering = ["plan_id", "number", "pk"]

    def get_queryset(self) -> QuerySet[Priority]:
        queryset = Priority.objects.all()
        return queryset.live() if self.action == "list" else queryset


class ObjectiveViewSet(ApiViewSet[Objective]):
    queryset = Objective.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.ObjectiveSerializer
    filterset_class = filters.ObjectiveFilter
    ordering_names = {"id": "pk", "code": "sort_key"}
    ordering = ["priority__plan_id", "priority__number", "sort_key", "pk"]

    def get_queryset(self) -> QuerySet[Objective]:
        queryset = Objective.objects.select_related("priority")
        return queryset.live() if self.action == "list" else queryset


@extend_schema_view(
    reports=extend_schema(
        summary="Report progress on an action",
        description=(
            "Needs a token with the “read and report” scope. A partner's report waits for the secretariat's "
            "review, exactly like one made in the browser (marked as reported through the API with the token's "
            "name), and the reviewers are emailed; the answer is the submission. The secretariat's report is "
            "recorded at once; the answer is the status history entry. Send an `Idempotency-Key` header to make "
            "a retried request create nothing twice."
        ),
        request=serializers.ActionReportSerializer,
        responses={
            201: PolymorphicProxySerializer(
                component_name="ActionReportResult",
                serializers=[serializers.SubmissionSerializer, serializers.StatusHistorySerializer],
                resource_type_field_name=None,
            )
        },
    )
)
class ActionViewSet(ApiViewSet[Action]):
    """Actions as the register lists them; an archived action is found by its id but not listed."""

    queryset = Action.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.ActionSerializer
    filterset_class = filters.ActionFilter
    ordering_names = {
        "id": "pk",
        "code": "sort_key",
        "status": "status_rank",
        "next_update_due": "next_update_due",
        "target_date": "target_date",
        "updated_at": "updated_at",
        "title": "title",
    }
    ordering = ["sort_key", "pk"]

    def get_queryset(self) -> QuerySet[Action]:
        user = self.request.user
        queryset = Action.objects.visible_to(user)
        if self.action == "list":
            queryset = queryset.live()
        today = timezone.localdate()
        # The register's columns (ActionQuerySet.for_register) without its partner-name sort key, a
        # correlated subquery that a page deep in the list paid for every action before it; and
        # "awaiting review" as one uncorrelated subquery (ActionQuerySet.awaiting_review's rule).
        pending = Submission.objects.visible_to(user).pending().values("action_id")
        return (
            queryset.select_related("objective__priority", "owner", "last_update")
            .prefetch_related(
                Prefetch(
                    "partnerships",
                    queryset=ActionPartner.objects.select_related("organisation").order_by(
                        "role", "organisation__name"
                    ),
                )
            )
            .annotate(
                status_rank=Case(
                    *(When(status=s, then=Value(i)) for i, s in enumerate(SEVERITY)), output_field=IntegerField()
                ),
                # Case, not the bare comparison: with no due date that is NULL, not false.
                overdue_flag=Case(
                    When(Q(next_update_due__lt=today) & ~Q(status=Status.COMPLETED), then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                ),
                awaiting_review=ExpressionWrapper(Q(pk__in=pending), output_field=BooleanField()),
            )
        )

    @route(detail=True, methods=["post"], url_path="reports", permission_classes=[TokenScope])
    def reports(self, request: Request, pk: str | None = None) -> Response:
        action = self.get_object()

        def perform() -> Created:
            body = serializers.ActionReportSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            assert isinstance(request.auth, AccessToken)  # TokenScope admits only a request with an AccessToken
            report = action_report(token=request.auth, action=action, **body.validated_data)
            return _created(request, report)

        return _idempotent_post(request, perform)


class StatusHistoryViewSet(ApiViewSet[ProgressUpdate]):
    """Every recorded progress update on the actions you may see, newest first."""

    queryset = ProgressUpdate.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.StatusHistorySerializer
    filterset_class = filters.StatusHistoryFilter
    ordering_names = {"id": "pk", "created_at": "created_at"}
    ordering = ["-created_at", "-pk"]

    def get_queryset(self) -> QuerySet[ProgressUpdate]:
        return ProgressUpdate.objects.visible_to(self.request.user).select_related("author", "accepted_by")


class IndicatorViewSet(ApiViewSet[SuccessIndicator]):
    """Success indicators (everyone signed in reads them, as on the indicator pages)."""

    queryset = SuccessIndicator.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.IndicatorSerializer
    filterset_class = filters.IndicatorFilter
    ordering_names = {"id": "pk", "code": "code"}
    ordering = ["plan_id", "position", "code", "pk"]

    def get_queryset(self) -> QuerySet[SuccessIndicator]:
        user = self.request.user
        queryset = SuccessIndicator.objects.prefetch_related(
            Prefetch("measures", queryset=Measure.objects.only("pk", "indicator_id")),
            Prefetch("actions", queryset=Action.objects.visible_to(user).live().only("pk"), to_attr="visible_actions"),
        )
        return queryset.live() if self.action == "list" else queryset


@extend_schema_view(
    values=extend_schema(
        summary="Report a measure's value for a period",
        description=(
            "Needs a token with the “read and report” scope. A partner reports the measures its organisation "
            "reports: the value waits for the secretariat's review, like one made in the browser, and the answer "
            "is the value submission. The secretariat's value is recorded at once; the answer is the measurement. "
            "Send an `Idempotency-Key` header to make a retried request create nothing twice."
        ),
        request=serializers.MeasureReportSerializer,
        responses={
            201: PolymorphicProxySerializer(
                component_name="MeasureReportResult",
                serializers=[serializers.ValueSubmissionSerializer, serializers.MeasurementSerializer],
                resource_type_field_name=None,
            )
        },
    )
)
class MeasureViewSet(ApiViewSet[Measure]):
    queryset = Measure.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.MeasureSerializer
    filterset_class = filters.MeasureFilter
    ordering = ["indicator_id", "pk"]

    def get_queryset(self) -> QuerySet[Measure]:
        queryset = Measure.objects.with_latest().select_related("indicator")
        if self.action == "list":
            queryset = queryset.filter(indicator__archived_at__isnull=True)
        return queryset

    @route(detail=True, methods=["post"], url_path="values", permission_classes=[TokenScope])
    def values(self, request: Request, pk: str | None = None) -> Response:
        measure = self.get_object()

        def perform() -> Created:
            body = serializers.MeasureReportSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            assert isinstance(request.auth, AccessToken)  # TokenScope admits only a request with an AccessToken
            report = measure_report(token=request.auth, measure=measure, **body.validated_data)
            return _created(request, report)

        return _idempotent_post(request, perform)


class MeasurementViewSet(ApiViewSet[Measurement]):
    queryset = Measurement.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.MeasurementSerializer
    filterset_class = filters.MeasurementFilter
    ordering_names = {"id": "pk", "period_start": "period_start", "recorded_at": "recorded_at"}
    ordering = ["measure_id", "period_start", "pk"]

    def get_queryset(self) -> QuerySet[Measurement]:
        queryset = Measurement.objects.select_related("measure")
        if self.action == "list":
            queryset = queryset.filter(measure__indicator__archived_at__isnull=True)
        return queryset


class OrganisationViewSet(ApiViewSet[Organisation]):
    """Staff see every organisation; a partner sees its own and those partnering the actions it may see."""

    queryset = Organisation.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.OrganisationSerializer
    ordering_names = {"id": "pk", "name": "name"}
    ordering = ["name", "pk"]

    def get_queryset(self) -> QuerySet[Organisation]:
        return organisations_visible_to(self.request.user)


class SubmissionViewSet(ApiViewSet[Submission]):
    """Progress partners reported: staff see all, a partner its own organisation's (as the action pages show)."""

    queryset = Submission.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.SubmissionSerializer
    filterset_class = filters.SubmissionFilter
    ordering_names = {"id": "pk", "submitted_at": "submitted_at"}
    ordering = ["-submitted_at", "-pk"]

    def get_queryset(self) -> QuerySet[Submission]:
        return Submission.objects.visible_to(self.request.user).select_related(
            "submitted_by", "decided_by", "api_report"
        )


class ValueSubmissionViewSet(ApiViewSet[MeasurementSubmission]):
    """Values partners reported: staff see all, a partner its own organisation's."""

    queryset = MeasurementSubmission.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.ValueSubmissionSerializer
    filterset_class = filters.ValueSubmissionFilter
    ordering_names = {"id": "pk", "submitted_at": "submitted_at"}
    ordering = ["-submitted_at", "-pk"]

    def get_queryset(self) -> QuerySet[MeasurementSubmission]:
        return MeasurementSubmission.objects.visible_to(self.request.user).select_related(
            "submitted_by", "decided_by", "api_report"
        )


class ReminderViewSet(ApiViewSet[Reminder]):
    """Reminders written, sent or failed: the secretariat and the commissioner only (they name partner contacts)."""

    queryset = Reminder.objects.none()  # the model, for the schema; get_queryset says what is visible
    serializer_class = serializers.ReminderSerializer
    filterset_class = filters.ReminderFilter
    permission_classes = [TokenScope, StaffOnly]
    ordering_names = {"id": "pk", "created_at": "created_at"}
    ordering = ["-created_at", "-pk"]

    def get_queryset(self) -> QuerySet[Reminder]:
        return Reminder.objects.all()


# --- writes -----------------------------------------------------------------------------------------

RESULT_SERIALIZERS = {
    Submission: serializers.SubmissionSerializer,
    ProgressUpdate: serializers.StatusHistorySerializer,
    MeasurementSubmission: serializers.ValueSubmissionSerializer,
    Measurement: serializers.MeasurementSerializer,
}


def _created(request: Request, report: Submission | ProgressUpdate | MeasurementSubmission | Measurement) -> Created:
    """(201, the report as the API shows it, its url) for the idempotency record."""
    serializer_class = RESULT_SERIALIZERS[type(report)]
    # Plain JSON types (DRF's links are a str subclass): the answer is stored for replays as it was sent.
    body = json.loads(JSONRenderer().render(serializer_class(report, context={"request": request}).data))
    return status.HTTP_201_CREATED, body, body["url"]


def _idempotent_post(request: Request, perform: Callable[[], Created]) -> Response:
    key = request.headers.get(IDEMPOTENCY_HEADER, "")
    if key:
        key = clean_idempotency_key(key)
    assert request.method is not None  # a request Django's handler passed to a view has one (here POST)
    assert isinstance(request.auth, AccessToken)  # TokenScope admits only a request with an AccessToken
    fingerprint = request_fingerprint(method=request.method, path=request.path, data=request.data)
    status_code, body, location, replayed = idempotent(
        token=request.auth, key=key, fingerprint=fingerprint, perform=perform
    )
    response = Response(body, status=status_code)
    if location:
        response["Location"] = location
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response
