"""Bounded pages: one page of a list (GOV.UK pagination, templates/includes/pagination.html) and short lists.

No page renders an unbounded number of rows: long lists are paged here, and what a page only
previews (what needs attention first) is cut at a fixed length with its total said next to it.
The full lists stay downloads.
"""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

PAGE_SIZE = 50
ATTENTION_LIMIT = 25  # rows a preview list shows before "and N more"


class CountedPaginator(Paginator):
    """A Paginator that is told the number of rows (already counted with the page's summary): one query fewer."""

    def __init__(self, object_list, per_page, *, count=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        if count is not None:
            self.__dict__["count"] = count

    @cached_property
    def count(self):
        return super().count


def page_number(request):
    """The requested ?page= as a number from 1; anything that is not a positive number is page 1."""
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) < 10**9 else 1


def page_of(request, queryset, *, count=None, per_page=PAGE_SIZE):
    """One page of an ordered queryset for ?page= (past the end: the last page), with its elided page links."""
    paginator = CountedPaginator(queryset, per_page, count=count)
    page = paginator.get_page(page_number(request))
    page.page_links = list(paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1))
    return page


def preview(queryset, limit=ATTENTION_LIMIT):
    """The first `limit` rows of an ordered queryset, as a list (one query)."""
    return list(queryset[:limit])
