from django.urls import path

from .views import actions, plan

app_name = "priorities"

urlpatterns = [
    path("plan/", plan.plan_overview, name="plan"),
    path("actions/<int:pk>/", actions.action_detail, name="action-detail"),
]
