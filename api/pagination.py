"""Page-number pagination: 100 items a page, `page_size` up to 1,000, `next` and `previous` links."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import QuerySet
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

if TYPE_CHECKING:
    # Only for annotations: DRF's generic views take the pagination class from the settings.
    from rest_framework.views import APIView

_Row = TypeVar("_Row")

MAX_PAGE_SIZE = 1000
MAX_PAGE_NUMBER = 10**9


class Pagination(pagination.PageNumberPagination):
    """A page past the last is empty (with `next` null), so a client simply loops until `next` is null."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = f"Items per page: 100 unless given, at most {MAX_PAGE_SIZE:,}."
    page_query_description = "The page, from 1."

    def get_page_size(self, request: Request) -> int | None:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
            raise ValidationError({self.page_size_query_param: [f"Give a number from 1 to {MAX_PAGE_SIZE:,}."]})
        return int(value)

    def paginate_queryset(
        self, queryset: QuerySet[Any, _Row] | Sequence[_Row], request: Request, view: "APIView | None" = None
    ) -> list[_Row]:
        self.request = request
        page_size = self.get_page_size(request)
        assert page_size is not None  # REST_FRAMEWORK's PAGE_SIZE is set (100)
        value = request.query_params.get(self.page_query_param, "1")
        if not value.isdigit() or not 1 <= int(value) < MAX_PAGE_NUMBER:
            raise ValidationError({self.page_query_param: ["Give a page number from 1."]})
        number = int(value)
        paginator = self.django_paginator_class(queryset, page_size)
        self.count = paginator.count
        if number > paginator.num_pages:
            self.page = None
            return []
        self.page = paginator.page(number)
        return list(self.page)

    def get_paginated_response(self, data: Any) -> Response:
        if self.page is None:
            return Response({"count": self.count, "next": None, "previous": None, "results": data})
        return super().get_paginated_response(data)

    def get_schema_operation_parameters(self, view: "APIView") -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            limits = {"page": (1, MAX_PAGE_NUMBER - 1), "page_size": (1, MAX_PAGE_SIZE)}[parameter["name"]]
            parameter["schema"] = {"type": "integer", "minimum": limits[0], "maximum": limits[1]}
        return parameters
