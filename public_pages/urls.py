from django.urls import path

from . import views

app_name = "public"

urlpatterns = [
    path("", views.plan, name="plan"),
    path("objectives/<int:pk>/", views.objective, name="objective"),
    path("objectives/<int:pk>/page-<int:page>/", views.objective, name="objective-page"),
    path("actions/<int:pk>/", views.action, name="action"),
    path("indicators/<int:pk>/", views.indicator, name="indicator"),
    path("plan.json", views.plan_json, name="plan-json"),
    path("plan.csv", views.plan_csv, name="plan-csv"),
    path("plan.schema.json", views.plan_schema, name="plan-schema"),
]
