from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

handler500 = "tracker.views.server_error"

admin.site.site_header = "Plan Tracker administration"
admin.site.site_title = "Plan Tracker admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Early: public traffic is the heaviest, and resolving past every other pattern costs more than the page.
    path("public/", include("public_pages.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/invitation/<str:token>/", views.accept_invitation, name="accept-invitation"),
    path("organisations/", views.organisation_list, name="organisation-list"),
    path("organisations/<slug:slug>/", views.organisation_detail, name="organisation-detail"),
    path("organisations/<slug:slug>/invite/", views.organisation_invite, name="organisation-invite"),
    path(
        "organisations/<slug:slug>/people/<int:user_id>/resend/",
        views.user_resend_invitation,
        name="user-resend-invitation",
    ),
    path(
        "organisations/<slug:slug>/people/<int:user_id>/deactivate/",
        views.user_deactivate_view,
        name="user-deactivate",
    ),
    path("admin/", admin.site.urls),
    path("", include("priorities.urls")),
    path("indicators/", include("indicators.urls")),
]
