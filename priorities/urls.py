from django.urls import path

from . import views

app_name = "priorities"

urlpatterns = [
    path("plan/", views.plan_overview, name="plan"),
    path("actions/<int:pk>/", views.action_detail, name="action-detail"),
]
