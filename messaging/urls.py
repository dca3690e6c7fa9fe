"""Messaging's pages: a person's email choices, the reports made from email links, the "remind now" button.

The paths are the ones they had under priorities: links in emails already sent still work.
"""

from django.urls import path

from .views import notifications, reminders

app_name = "messaging"

urlpatterns = [
    path("actions/<int:pk>/remind/", reminders.action_send_reminder, name="action-send-reminder"),
    path("accounts/notifications/", notifications.notification_choices_view, name="notification-choices"),
    path("report/<str:token>/", notifications.report_link_view, name="report-link"),
    path("report/<str:token>/new-link/", notifications.report_link_renew_view, name="report-link-renew"),
]
