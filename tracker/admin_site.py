"""Plan Tracker's admin site, in its own module: the admin imports it (TrackerAdminConfig) while registering."""

from functools import update_wrapper

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse


class TrackerAdminSite(admin.AdminSite):
    """Django's admin, signed into through Plan Tracker; someone signed in without admin rights is refused (403).

    Django's admin sends anyone without admin rights to its sign-in page, and that page here sends them
    to Plan Tracker's (the admin's own form would skip the second step). Plan Tracker's sends someone
    already signed in straight back, so a signed-in partner or commissioner looped for ever.
    """

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def refuse_signed_in_without_rights(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        return update_wrapper(refuse_signed_in_without_rights, inner)

    def login(self, request, extra_context=None):
        if not request.user.is_authenticated:
            return redirect_to_login(request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index"))
        if self.has_permission(request):
            return redirect("admin:index")
        raise PermissionDenied
