"""What a token may do: read with any token, write with a "report" token; some lists are for staff only."""

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .models import AccessToken

if TYPE_CHECKING:
    # Only for annotations: DRF's views module imports the permission and throttle classes from the settings.
    from rest_framework.views import APIView


class TokenScope(BasePermission):
    """A token is required; unsafe methods need the "report" scope (403 otherwise)."""

    message = "This token may only read: make a token with the “read and report” scope to report."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        token = request.auth
        if not isinstance(token, AccessToken) or not request.user.is_authenticated:
            return False
        return request.method in SAFE_METHODS or token.can_report


class StaffOnly(BasePermission):
    """The secretariat and the commissioner, as on the pages (reminders name partner contacts)."""

    message = "Only the secretariat and the commissioner can read this."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        user = request.user
        return user.is_authenticated and user.role in (user.Role.SECRETARIAT, user.Role.COMMISSIONER)
