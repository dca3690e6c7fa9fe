"""`Authorization: Bearer pt_...`: the only way into the API (no session, no token in the address)."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from tracker.models import User

from .models import AccessToken
from .services import token_authenticate

REALM = "Plan Tracker API"


class BearerTokenAuthentication(BaseAuthentication):
    """A personal access token acts as its person; a revoked or expired token, or a deactivated person, is a 401."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the token as `Authorization: Bearer pt_...`.")
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("This token is not valid.") from None
        token = token_authenticate(secret)
        if token is None:
            raise exceptions.AuthenticationFailed("This token is not valid: it is unknown, revoked or expired.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'
