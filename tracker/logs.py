"""Log records: a request id on every line of a request and of the Celery tasks it starts; one line per record.

- The request id comes from the client's `X-Request-ID` header when it looks like one (a proxy or load
  balancer that sets it), else a new one is made; it is sent back in the response's `X-Request-ID`.
  Celery tasks published during the request carry it in their message headers (before_task_publish),
  and every line logged while the worker runs such a task has it (RequestIdFilter reads the current task).
- OneLineFormatter escapes control characters (CR, LF ...) in the message and in exception messages, so no
  value anyone sends can start a line of its own; a traceback's own lines are indented under the record.
  LOG_FORMAT=json uses JsonFormatter instead: one JSON object a line, escaped by JSON itself.
"""

import contextvars
import logging
import re
import traceback
import uuid
from typing import Any

from celery import current_task
from celery.signals import before_task_publish
from django.core.signals import request_finished
from django.dispatch import receiver
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_MESSAGE_HEADER = "request_id"
# What a proxy's request id looks like (a UUID, nginx's $request_id, a load balancer's trace id): anything
# else (too long, control characters, spaces) is replaced by one of ours, never written to a log.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{0,127}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_request_id = contextvars.ContextVar("request_id", default=None)
_request = contextvars.ContextVar("request", default=None)


def escape_control(text):
    """`text` with every control character written as \\xNN (a CR or LF can no longer start a log line)."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def current_request_id():
    """The id of the request this code runs for: the web request's, or the one the running Celery task carries."""
    value = _request_id.get()
    if value is not None:
        return value
    task = current_task
    if task:
        return getattr(task.request, REQUEST_ID_MESSAGE_HEADER, None)
    return None


def current_request():
    """The web request this code runs for, or None (Sentry's scrubber reads what it posted)."""
    return _request.get()


def request_id_from(header):
    """The client's request id if it is a valid one, else a new random one."""
    if header and _VALID_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request its id (see the module's docstring) and returns it in the `X-Request-ID` header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        # Kept until the request has finished (below), so that Django's own log line about the response,
        # written after the middleware, has it too.
        _request_id.set(request_id)
        _request.set(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished, dispatch_uid="tracker-request-id-finished")
def _forget_request(**kwargs):
    _request_id.set(None)
    _request.set(None)


@before_task_publish.connect(dispatch_uid="tracker-request-id-publish")
def _add_request_id(headers=None, **kwargs):
    """A task published while serving a request (or running a task) carries that request's id."""
    request_id = current_request_id()
    if request_id is not None and headers is not None:
        headers.setdefault(REQUEST_ID_MESSAGE_HEADER, request_id)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record ("-" outside any request or task), for the formatters."""

    def filter(self, record):
        record.request_id = current_request_id() or "-"
        return True


class SecurityWithoutTracebackFilter(logging.Filter):
    """Records of django.security.* keep their message but not their traceback.

    Django logs a request it refuses as suspicious (a bad Host header, an admin lookup it does not
    allow) with the exception's traceback: a 400 is then one line, not thirty each time. On the
    handler, because a filter on the "django.security" logger would not see its children's records.
    """

    def filter(self, record):
        if record.name.startswith("django.security"):
            record.exc_info = None
            record.exc_text = None
        return True


class OneLineFormatter(logging.Formatter):
    """Django's plain format, with control characters escaped in the message and in exception messages.

    The lines of a traceback (file names and source lines: ours, not a visitor's) are kept, each
    indented, so a reader or a log collector can tell them from the start of a new record.
    """

    def format(self, record):
        # logging.Formatter.format, but never reusing `exc_text` that another formatter cached unescaped.
        record.message = escape_control(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + "\n".join("    " + escape_control(line) for line in record.exc_text.split("\n"))
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        return text

    def formatException(self, ei):
        lines = []
        for chunk in _traceback_chunks(traceback.TracebackException(*ei, compact=True)):
            lines.extend(chunk.rstrip("\n").split("\n"))
        return "\n".join("    " + line for line in lines)

    def formatStack(self, stack_info):
        return "\n".join("    " + line for line in stack_info.split("\n"))


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _traceback_chunks(exception):
    """What traceback.TracebackException.format() writes, with each exception's message escaped (its chain too)."""
    # (the message printed before this exception, the exception), outermost first
    chain: list[tuple[str | None, Any]] = []
    while exception is not None:
        if exception.__cause__ is not None:
            chain.append((_CAUSE, exception))
            exception = exception.__cause__
        elif exception.__context__ is not None and not exception.__suppress_context__:
            chain.append((_CONTEXT, exception))
            exception = exception.__context__
        else:
            chain.append((None, exception))
            exception = None
    for message, exc in reversed(chain):
        if message:
            yield message
        if exc.stack:
            yield "Traceback (most recent call last):\n"
            yield from exc.stack.format()
        yield escape_control("".join(exc.format_exception_only()).rstrip("\n")) + "\n"


class JsonFormatter(BaseJsonFormatter):
    """One JSON object a line: time, level, logger, message, request id, and the exception if any.

    Attributes Django and Celery add for their own handlers are left out: the message names the request
    or the task, while the request object's repr carries its query string and Celery's `data` the
    task's arguments (an email address, say).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request", "server_time", "data"])
        super().__init__("{asctime}{levelname}{name}{message}{request_id}", style="{", **kwargs)
