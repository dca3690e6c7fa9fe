from django.urls import path

from . import views

app_name = "plan_imports"

# The paths they had under the plan (priorities), kept.
urlpatterns = [
    path("plan/import/", views.PlanImportUploadView.as_view(), name="plan-import-upload"),
    path("plan/import/template.<str:fmt>", views.plan_import_template, name="plan-import-template"),
    path("plan/import/<uuid:token>/", views.plan_import_preview, name="plan-import-preview"),
    path("plan/import/<uuid:token>/confirm/", views.plan_import_confirm, name="plan-import-confirm"),
    path("plan/import/<uuid:token>/errors.csv", views.plan_import_errors, name="plan-import-errors"),
]
