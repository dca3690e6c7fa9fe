from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from overview.views.home import home
from priorities.views import organisations

from . import account_views, health, metrics, people_views, site_page_views, views

# The project's URLconf wires every app together, so it is the one module of `tracker` that imports
# from the apps above it (see "Layout" in README.md and tests/test_layers.py).

handler500 = "tracker.views.server_error"

admin.site.site_header = "Plan Tracker administration"
admin.site.site_title = "Plan Tracker admin"

urlpatterns = [
    path("", home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Early: public traffic is the heaviest, and resolving past every other pattern costs more than the page.
    path("public/", include("public_pages.urls")),
    # The privacy notice and the accessibility statement: public, kept by the secretariat.
    path("privacy/", site_page_views.site_page, {"page": "privacy"}, name="privacy-notice"),
    path("privacy/edit/", site_page_views.site_page_edit, {"page": "privacy"}, name="privacy-notice-edit"),
    path("accessibility/", site_page_views.site_page, {"page": "accessibility"}, name="accessibility-statement"),
    path(
        "accessibility/edit/",
        site_page_views.site_page_edit,
        {"page": "accessibility"},
        name="accessibility-statement-edit",
    ),
    path(
        "accounts/login/",
        account_views.SignInView.as_view(),
        name="login",
    ),
    path("accounts/logout/", account_views.SignOutView.as_view(), name="logout"),
    path("accounts/invitation/<str:token>/", views.accept_invitation, name="accept-invitation"),
    # Accounts people manage themselves (tracker/account_views.py).
    path("accounts/", account_views.account, name="account"),
    path("accounts/password/", account_views.PasswordChangeView.as_view(), name="password-change"),
    path("accounts/password-reset/", account_views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_sent.html"),
        name="password-reset-sent",
    ),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        account_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "accounts/password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/password_reset_done.html"),
        name="password-reset-complete",
    ),
    path("accounts/tokens/", include("api.token_urls")),
    path("accounts/two-step/", account_views.two_step_sign_in, name="two-step-verify"),
    path("accounts/two-step/setup/", account_views.two_step_setup, name="two-step-setup"),
    path("accounts/two-step/recovery-codes/", account_views.recovery_codes_new, name="two-step-recovery-codes"),
    path("accounts/two-step/turn-off/", account_views.two_step_turn_off, name="two-step-turn-off"),
    path("people/<int:user_id>/two-step/reset/", account_views.user_two_step_reset, name="user-two-step-reset"),
    path("organisations/<slug:slug>/two-step/", account_views.organisation_two_step, name="organisation-two-step"),
    path("organisations/", organisations.organisation_list, name="organisation-list"),
    path("organisations/<slug:slug>/", organisations.organisation_detail, name="organisation-detail"),
    path("organisations/<slug:slug>/invite/", organisations.organisation_invite, name="organisation-invite"),
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
    path(
        "organisations/<slug:slug>/people/<int:user_id>/reactivate/",
        views.user_reactivate_view,
        name="user-reactivate",
    ),
    path("people/", people_views.person_list, name="person-list"),
    path("people/<int:user_id>/", people_views.person_detail, name="person-detail"),
    path("audit/", include("audit.urls")),
    path("", include("privacy.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("", include("overview.urls")),
    path("", include("priorities.urls")),
    path("", include("plan_imports.urls")),
    path("", include("messaging.urls")),
    path("indicators/", include("indicators.urls")),
]
