"""Every error the API answers has one JSON shape: {"status", "code", "detail", "fields"}.

`status` repeats the HTTP status, `code` is a stable word a program can test (`not_found`,
`permission_denied`, `invalid` ...), `detail` is a sentence for a person, and `fields` names each
field (or header) that was refused with its messages; it is empty when no field is at fault.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tracker.middleware import RETRY_AFTER_SECONDS, outage_errors

from .services import IdempotencyKeyReused

NOT_AUTHENTICATED = "Send a personal access token as `Authorization: Bearer pt_...` (make one at /accounts/tokens/)."
INVALID_DETAIL = "Some of what was sent cannot be used: see `fields`."


def error_body(status_code: int, code: str, detail: str, fields: dict | None = None) -> dict:
    return {"status": status_code, "code": code, "detail": detail, "fields": fields or {}}


def error_response(status_code: int, code: str, detail: str, fields: dict | None = None) -> JsonResponse:
    """The error shape for answers made outside a DRF view (unknown addresses, refused requests)."""
    return JsonResponse(error_body(status_code, code, detail, fields), status=status_code)


def _messages(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, inner in value.items() for message in _messages(inner)]
    if isinstance(value, list | tuple):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


def _from_django(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError({field: list(messages) for field, messages in error.message_dict.items()})
    return exceptions.ValidationError({"non_field_errors": error.messages})


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with Django's own exceptions translated first and every answer in the one shape."""
    if isinstance(exc, DjangoValidationError):
        exc = _from_django(exc)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, exceptions.NotAuthenticated):
        # The same exception (it carries the WWW-Authenticate header), with a message that says what to send.
        exc.detail = exceptions.ErrorDetail(NOT_AUTHENTICATED, code=exc.default_code)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found: there is no such item, or it is not yours to see.")
    elif isinstance(exc, IdempotencyKeyReused):
        return Response(
            error_body(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was sent before with a different request: use a new key for a new request.",
                {"Idempotency-Key": ["Already used with a different request."]},
            ),
            status=422,
        )
    elif isinstance(exc, outage_errors()):
        response = Response(
            error_body(503, "unavailable", "The service is briefly unavailable: try again shortly."), status=503
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    handled = drf_exception_handler(exc, context)
    if handled is None:
        return None
    response = handled
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        detail: dict[Any, Any] = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        general = _messages(detail.pop("non_field_errors", []))
        fields = {name: _messages(value) for name, value in detail.items()}
        message = " ".join(general) if general and not fields else INVALID_DETAIL
        if general and fields:
            fields["non_field_errors"] = general
        response.data = error_body(response.status_code, "invalid", message, fields)
    else:
        message = " ".join(_messages(exc.detail)) if hasattr(exc, "detail") else str(exc)
        response.data = error_body(response.status_code, code, message)
    return response


@csrf_exempt  # a POST to a wrong address is a 404 like any other, not a CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any address under /api/ that names no endpoint."""
    return error_response(
        status.HTTP_404_NOT_FOUND, "not_found", "There is no such address in the API: see /api/v1/docs/."
    )
