from django.core.paginator import EmptyPage
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tracker.paging import PAGE_SIZE, page_number
from tracker.permissions import SECRETARIAT, role_required
from tracker.spreadsheets import csv_response

from .filters import AccessEventFilter
from .models import AccessEvent
from .tables import AccessEventTable, csv_rows

SORTS = {"at": ("at", "pk"), "-at": ("-at", "-pk")}


def _filtered(request: HttpRequest) -> tuple[AccessEventFilter, QuerySet[AccessEvent]]:
    """(filterset, the events it selects): an invalid filter selects nothing, not everything."""
    events = AccessEvent.objects.for_log()
    filterset = AccessEventFilter(request.GET, queryset=events, request=request)
    selected = filterset.qs if filterset.is_valid() else events.none()
    return filterset, selected.order_by(*SORTS.get(request.GET.get("sort", ""), SORTS["-at"]))


@require_GET
@role_required(SECRETARIAT)
def access_log(request: HttpRequest) -> HttpResponse:
    """The access log for the secretariat: filters in the address, 50 a page, newest first, and its CSV."""
    filterset, events = _filtered(request)
    table = AccessEventTable(events, order_by=request.GET.get("sort") if request.GET.get("sort") in SORTS else "-at")
    table.request = request
    # Always PAGE_SIZE rows (a ?per_page= is not read); past the last page is the last page.
    try:
        table.paginate(per_page=PAGE_SIZE, page=page_number(request))
    except EmptyPage:
        table.paginate(per_page=PAGE_SIZE, page=table.paginator.num_pages)
    query = request.GET.copy()
    for name in ("page", "sort"):
        query.pop(name, None)
    valid = filterset.is_valid()
    context = {
        "filter": filterset,
        "table": table,
        "export_query": query.urlencode(),
        "only_user": filterset.form.cleaned_data.get("user") if valid else None,
        "only_subject": filterset.form.cleaned_data.get("subject") if valid else None,
    }
    return render(request, "audit/access_log.html", context)


@require_GET
@role_required(SECRETARIAT)
def access_log_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered access log as CSV, every row (streamed; this download is itself in the log)."""
    _, events = _filtered(request)
    return csv_response(csv_rows(events), f"access-log-{timezone.localdate():%Y-%m-%d}.csv")
