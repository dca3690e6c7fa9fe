"""The OpenAPI description: its version, the token scheme, and every error each operation can answer.

API_VERSION is the version of the served schema. Change it, and add a line to the changelog in
README.md ("API and data feeds"), whenever the schema changes: tests/api/test_schema.py compares the
served schema with tests/api/schema_versions.json and fails otherwise.
"""

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.utils import Direction
from rest_framework import serializers

from .permissions import StaffOnly

API_VERSION = "1.0.0"
# Visible ASCII, spaces inside only (api.services.clean_idempotency_key).
KEY_PATTERN = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"

ERRORS = {
    "400": "The request cannot be used (a filter, page, body field or header): `fields` says which.",
    "401": "No token, or a token that is unknown, revoked or expired, or whose person was deactivated.",
    "403": "The token may not do this: a read-only token writing, or a role this is not for.",
    "404": "No such item, or not one this token's person may see.",
    "406": "The Accept header asks for something other than JSON.",
    "415": "The body is not JSON (send Content-Type: application/json).",
    "422": "This Idempotency-Key was used before with a different request.",
    "429": "Too many requests for this token this minute: wait the seconds Retry-After gives.",
    "503": "The service is briefly unavailable (its database): try again after Retry-After seconds.",
}


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers has this shape."""

    status = serializers.IntegerField(help_text="The HTTP status again.")
    code = serializers.CharField(help_text="A stable word for programs: not_found, permission_denied, invalid ...")
    detail = serializers.CharField(help_text="What went wrong, for a person.")
    fields = serializers.DictField(  # type: ignore[assignment]  # documents the body's "fields", not Serializer.fields
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each refused field or header with its messages; empty when no field is at fault.",
    )


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema: openapi.AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "pt_...",
            "description": "A personal access token made on your account page (/accounts/tokens/).",
        }


def _header(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    schema = schema or {"type": "string"}
    return build_parameter_type(name=name, schema=schema, location="header", description=description)


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus the error responses, conditional GETs and idempotent POSTs of this API."""

    def _is_feed(self) -> bool:
        return getattr(self.view, "feed", None) is not None

    def _is_list(self) -> bool:
        return self.method == "GET" and self._is_list_view()

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters = super()._get_parameters()
        if self.method == "GET" and not self._is_feed():
            parameters.append(
                _header("If-None-Match", "The ETag of a response you hold: 304 with no body if it is unchanged.")
            )
        if self.method == "POST":
            parameters.append(
                _header(
                    "Idempotency-Key",
                    "Any unique text (e.g. a UUID), at most 200 characters: the same key sent again within 24 hours "
                    "answers what the first request answered and creates nothing.",
                    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": KEY_PATTERN},
                )
            )
        return parameters

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if not self.view.authentication_classes:  # the schema and the docs themselves
            return responses
        for code, response in responses.items():
            if code == "200" and self.method == "GET" and not self._is_feed():
                response.setdefault("headers", {})["ETag"] = {
                    "schema": {"type": "string"},
                    "description": "Send it back as If-None-Match to get 304 when nothing changed.",
                    "required": True,
                }
            if code == "201":
                response.setdefault("headers", {})["Location"] = {
                    "schema": {"type": "string", "format": "uri"},
                    "description": "The url of what was created.",
                    "required": True,
                }
        if self.method == "GET" and not self._is_feed():
            responses["304"] = {"description": "Not modified: the ETag you sent is still current."}
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        codes = ["401", "429", "503"]
        if self._is_list() or self.method == "POST":
            codes.append("400")
        if self.method == "POST" or any(cls is StaffOnly for cls in self.view.permission_classes):
            codes.append("403")
        if (self.method == "GET" and not self._is_list() and not self._is_feed()) or self.method == "POST":
            codes.append("404")
        if not self._is_feed():
            codes.append("406")
        if self.method == "POST":
            codes += ["415", "422"]
        for code in sorted(codes):
            body = {"description": ERRORS[code], "content": {"application/json": {"schema": error}}}
            if code in ("429", "503"):
                body["headers"] = {
                    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait.", "required": True}
                }
            responses[code] = body
        return responses
