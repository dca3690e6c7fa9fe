"""Role checks for views: anonymous users go to sign in, a role that may not do something gets 403."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied

SECRETARIAT = "secretariat"
COMMISSIONER = "commissioner"
PARTNER = "partner"
STAFF = (SECRETARIAT, COMMISSIONER)


def has_role(user, *roles):
    return user.is_authenticated and user.is_active and user.role in roles


def role_required(*roles):
    """Decorator: the signed-in user must have one of `roles`, else 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


class RoleRequiredMixin(LoginRequiredMixin):
    """Class-based views: set `allowed_roles`; other roles get 403."""

    allowed_roles = ()

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not has_role(request.user, *self.allowed_roles):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
