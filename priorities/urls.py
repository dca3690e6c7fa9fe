from django.urls import path

from .views import actions, dashboard, notifications, partners, plan, plan_import, reminders, reports, reviews

app_name = "priorities"

urlpatterns = [
    path("plan/", plan.plan_overview, name="plan"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("reports/progress/", reports.progress_report, name="progress-report"),
    path("reports/progress.xlsx", reports.progress_report_xlsx, name="progress-report-xlsx"),
    path("actions/", actions.action_register, name="action-list"),
    path("actions/export.csv", actions.action_export_csv, name="action-export-csv"),
    path("actions/export.xlsx", actions.action_export_xlsx, name="action-export-xlsx"),
    path("actions/<int:pk>/", actions.action_detail, name="action-detail"),
    path("actions/<int:pk>/updates/", actions.action_record_update_view, name="action-record-update"),
    path("actions/<int:pk>/edit/", actions.action_edit, name="action-edit"),
    path("actions/<int:pk>/submit/", partners.submission_create_view, name="submission-create"),
    path("reviews/", reviews.review_queue, name="review-queue"),
    path("reviews/<int:pk>/accept/", reviews.submission_accept_view, name="submission-accept"),
    path("reviews/<int:pk>/return/", reviews.submission_return_view, name="submission-return"),
    path("actions/<int:pk>/remind/", reminders.action_send_reminder, name="action-send-reminder"),
    path(
        "actions/<int:pk>/updates/<int:update_pk>/public/",
        actions.progress_update_public_view,
        name="progress-update-public",
    ),
    path("plan/import/", plan_import.plan_import_upload, name="plan-import-upload"),
    path("plan/import/template.<str:fmt>", plan_import.plan_import_template, name="plan-import-template"),
    path("plan/import/<uuid:token>/", plan_import.plan_import_preview, name="plan-import-preview"),
    path("plan/import/<uuid:token>/confirm/", plan_import.plan_import_confirm, name="plan-import-confirm"),
    path("plan/import/<uuid:token>/errors.csv", plan_import.plan_import_errors, name="plan-import-errors"),
    path("plan/<int:pk>/publish/", plan.plan_publish_view, name="plan-publish"),
    path("plan/<int:pk>/unpublish/", plan.plan_unpublish_view, name="plan-unpublish"),
    path("accounts/notifications/", notifications.notification_choices_view, name="notification-choices"),
    path("report/<str:token>/", notifications.report_link_view, name="report-link"),
    path("report/<str:token>/new-link/", notifications.report_link_renew_view, name="report-link-renew"),
]
