"""Bounded pages: one page of a list (GOV.UK pagination, templates/includes/pagination.html) and short lists.

No page renders an unbounded number of rows: long lists are paged here, and what a page only
previews (what needs attention first) is cut at a fixed length with its total said next to it.
The full lists stay downloads.
"""

from typing import TYPE_CHECKING, Any, TypeVar

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

if TYPE_CHECKING:
    from django.core.paginator import _SupportsPagination  # the stubs' name for what Paginator accepts

_T = TypeVar("_T")
_M = TypeVar("_M", bound=Model)

PAGE_SIZE = 50
ATTENTION_LIMIT = 25  # rows a preview list shows before "and N more"


class LinkedPage(Page[_T]):
    """A page with the numbers (and "…") of the pages its pagination links to."""

    page_links: list[int | str]


class CountedPaginator(Paginator[_T]):
    """A Paginator that is told the number of rows (already counted with the page's summary): one query fewer."""

    def __init__(
        self, object_list: "_SupportsPagination[_T]", per_page: int, *, count: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(object_list, per_page, **kwargs)
        if count is not None:
            self.__dict__["count"] = count

    @cached_property
    def count(self) -> int:
        return super().count

    def _get_page(self, *args: Any, **kwargs: Any) -> LinkedPage[_T]:
        return LinkedPage(*args, **kwargs)


def page_number(request: HttpRequest) -> int:
    """The requested ?page= as a number from 1; anything that is not a positive number is page 1."""
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 10**9 else 1


def page_of(
    request: HttpRequest, queryset: "_SupportsPagination[_T]", *, count: int | None = None, per_page: int = PAGE_SIZE
) -> LinkedPage[_T]:
    """One page of an ordered queryset for ?page= (past the end: the last page), with its elided page links."""
    paginator = CountedPaginator(queryset, per_page, count=count)
    page = paginator.get_page(page_number(request))
    assert isinstance(page, LinkedPage)  # made by CountedPaginator._get_page
    page.page_links = list(paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1))
    return page


def preview(queryset: QuerySet[_M], limit: int = ATTENTION_LIMIT) -> list[_M]:
    """The first `limit` rows of an ordered queryset, as a list (one query)."""
    return list(queryset[:limit])
