from django.urls import path

from .views import actions, plan

app_name = "priorities"

urlpatterns = [
    path("plan/", plan.plan_overview, name="plan"),
    path("actions/<int:pk>/", actions.action_detail, name="action-detail"),
]

from .views import reminders  # noqa: E402

urlpatterns += [
    path("actions/<int:pk>/remind/", reminders.action_send_reminder, name="action-send-reminder"),
]
