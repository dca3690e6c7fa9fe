from django.urls import path

from .views import actions, notifications, plan, plan_periods, reminders, submissions

app_name = "priorities"

urlpatterns = [
    path("plan/", plan.plan_overview, name="plan"),
    path("actions/", actions.action_register, name="action-list"),
    path("actions/export.csv", actions.action_export_csv, name="action-export-csv"),
    path("actions/export.xlsx", actions.action_export_xlsx, name="action-export-xlsx"),
    path("actions/<int:pk>/", actions.action_detail, name="action-detail"),
    path("actions/<int:pk>/updates/", actions.action_record_update_view, name="action-record-update"),
    path("actions/<int:pk>/edit/", actions.action_edit, name="action-edit"),
    path("actions/<int:pk>/submit/", submissions.submission_create_view, name="submission-create"),
    path("actions/<int:pk>/remind/", reminders.action_send_reminder, name="action-send-reminder"),
    path(
        "actions/<int:pk>/updates/<int:update_pk>/public/",
        actions.progress_update_public_view,
        name="progress-update-public",
    ),
    path("plan/<int:pk>/publish/", plan.plan_publish_view, name="plan-publish"),
    path("plan/<int:pk>/unpublish/", plan.plan_unpublish_view, name="plan-unpublish"),
    path("plan/<int:pk>/next/", plan_periods.plan_start_next_view, name="plan-start-next"),
    path("accounts/notifications/", notifications.notification_choices_view, name="notification-choices"),
    path("report/<str:token>/", notifications.report_link_view, name="report-link"),
    path("report/<str:token>/new-link/", notifications.report_link_renew_view, name="report-link-renew"),
]
