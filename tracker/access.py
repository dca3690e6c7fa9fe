"""Reporting access: every download, report view, export of a person's data, sign-in and admin page.

This layer only reports; the audit app (above it) keeps the record, listening to `access_recorded` in its
AppConfig.ready(). Anything that serves data to a person reports it here, with who (the request's user),
when, what, from where (the client's address as the security log sees it) and how many rows:

- a download made by `tracker.spreadsheets.csv_response` or `xlsx_response` is reported by
  AccessRecordMiddleware when its stream ends: the rows are counted as they are written (a CSV as it
  streams, a workbook as it is built), so the count is what left, and a download the client broke off
  is reported with the rows sent by then and `complete=False`;
- a page (a report as of a date, an API feed ...) calls `record_access(request, ...)` itself;
- the admin's pages are reported by AccessRecordMiddleware: a view for a GET, a change for a POST.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from tracker.models import User

_Row = TypeVar("_Row")
_Response = TypeVar("_Response", bound=HttpResponseBase)

logger = logging.getLogger(__name__)

# Sent with: request, kind (one of Kind), what (text), rows (int or None), complete (bool), subject (a User or None).
access_recorded = Signal()


class Kind(models.TextChoices):
    DOWNLOAD = "download", "Download"
    REPORT = "report", "Report as of a date"
    PERSON_EXPORT = "person_export", "A person's data downloaded"
    SIGN_IN = "sign_in", "Sign-in"
    ADMIN_VIEW = "admin_view", "Admin page viewed"
    ADMIN_CHANGE = "admin_change", "Admin change"
    FEED = "feed", "Data feed"


def record_access(
    request: HttpRequest,
    *,
    kind: Kind,
    what: str,
    rows: int | None = None,
    complete: bool = True,
    subject: User | None = None,
) -> None:
    """Report one access by the request's user (the audit app records it)."""
    access_recorded.send(
        sender=Kind, request=request, kind=kind, what=what, rows=rows, complete=complete, subject=subject
    )


class RowCounter(Iterator[_Row]):
    """Iterates `rows` and counts them; `header` rows at the start are not counted (a CSV's headings)."""

    def __init__(self, rows: Iterable[_Row], *, header: int = 1) -> None:
        self._rows = iter(rows)
        self._header = header
        self.count = 0

    def __iter__(self) -> "RowCounter[_Row]":
        return self

    def __next__(self) -> _Row:
        row = next(self._rows)
        if self._header:
            self._header -= 1
        else:
            self.count += 1
        return row


@dataclass
class Download:
    """What a download response carries for the audit: its name and its rows' counters (one per sheet)."""

    what: str
    counters: list[RowCounter[Any]]

    @property
    def rows(self) -> int:
        return sum(counter.count for counter in self.counters)


def mark_download(response: _Response, *, what: str, counters: Iterable[RowCounter[Any]]) -> _Response:
    """Mark a download response so that AccessRecordMiddleware reports it when its stream ends."""
    # An attribute of our own on Django's response, read back by AccessRecordMiddleware.
    response.access_download = Download(what=what, counters=list(counters))  # type: ignore[attr-defined]
    return response


class _ReportedWhenDone(Iterator[bytes]):
    """Wraps a response's stream: reports the download once, when the stream ends or is closed early."""

    def __init__(self, stream: Iterable[bytes], report: Callable[[bool], None]) -> None:
        self._stream = iter(stream)
        self._report = report
        self._done = False

    def __iter__(self) -> "_ReportedWhenDone":
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._stream)
        except StopIteration:
            self._finish(complete=True)
            raise

    def close(self) -> None:
        # The server closes the response after the last chunk, or when the client went away mid-stream.
        self._finish(complete=False)

    def _finish(self, *, complete: bool) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._report(complete)
        except Exception:
            # Django swallows errors raised while closing a response: say so in the log at least.
            logger.exception("Could not record a download in the access log")


# Admin URL names that are machinery, not pages a person reads.
_ADMIN_MACHINERY = {"jsi18n", "autocomplete", "view_on_site"}


class AccessRecordMiddleware:
    """Reports downloads when their stream ends, and every admin page a signed-in person opens or posts to."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        download = getattr(response, "access_download", None)
        if download is not None and response.status_code == 200:
            self._report_download(request, response, download)
        elif response.status_code < 400:
            self._report_admin(request, response)
        return response

    def _report_download(self, request: HttpRequest, response: HttpResponseBase, download: Download) -> None:
        def report(complete: bool) -> None:
            record_access(request, kind=Kind.DOWNLOAD, what=download.what, rows=download.rows, complete=complete)

        if isinstance(response, StreamingHttpResponse):
            stream = response.streaming_content
            assert isinstance(stream, Iterator)  # our downloads stream from sync generators
            response.streaming_content = _ReportedWhenDone(stream, report)
        else:
            report(True)

    def _report_admin(self, request: HttpRequest, response: HttpResponseBase) -> None:
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        if match is None or "admin" not in match.namespaces or user is None or not user.is_authenticated:
            return
        if match.url_name in _ADMIN_MACHINERY:
            return
        # The admin answers a change it made with a redirect; a POST answered 200 is a form with errors.
        changed = request.method == "POST" and 300 <= response.status_code < 400
        what = match.url_name or match.view_name
        object_id = match.kwargs.get("object_id")
        if object_id:
            what = f"{what} #{object_id}"
        record_access(request, kind=Kind.ADMIN_CHANGE if changed else Kind.ADMIN_VIEW, what=f"admin: {what}")
