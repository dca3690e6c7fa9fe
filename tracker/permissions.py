"""Role checks for views: anonymous users go to sign in, a role that may not do something gets 403."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from tracker.models import User

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])

SECRETARIAT = "secretariat"
COMMISSIONER = "commissioner"
PARTNER = "partner"
STAFF = (SECRETARIAT, COMMISSIONER)


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind role_required or RoleRequiredMixin gets: its user is signed in (for annotations)."""

    user: User


def signed_in_user(request: HttpRequest) -> User:
    """The request's person, for a view that is behind a role check (refused with 403 if nobody is signed in)."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    return user.is_authenticated and user.is_active and getattr(user, "role", None) in roles


def role_required(*roles: str) -> Callable[[_View], _View]:
    """Decorator: the signed-in user must have one of `roles`, else 403."""

    def decorator(view: _View) -> _View:
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]  # wraps() keeps the view's signature

    return decorator


class RoleRequiredMixin(LoginRequiredMixin):
    """Class-based views: set `allowed_roles`; other roles get 403."""

    allowed_roles: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not has_role(request.user, *self.allowed_roles):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
