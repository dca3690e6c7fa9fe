from django.urls import path

from . import archive_views, views

app_name = "indicators"

urlpatterns = [
    path("", views.IndicatorListView.as_view(), name="indicator-list"),
    path("<int:pk>/", views.IndicatorDetailView.as_view(), name="indicator-detail"),
    path("plan/<int:plan_pk>/new/", views.IndicatorCreateView.as_view(), name="indicator-create"),
    path("<int:pk>/edit/", views.IndicatorUpdateView.as_view(), name="indicator-update"),
    path("<int:pk>/measures/add/", views.MeasureCreateView.as_view(), name="measure-create"),
    path("<int:pk>/actions/", views.IndicatorActionsView.as_view(), name="indicator-actions"),
    path("<int:pk>/actions/<int:action_pk>/unlink/", views.indicator_unlink_action, name="indicator-action-unlink"),
    path("<int:pk>/archive/", archive_views.indicator_archive_view, name="indicator-archive"),
    path("<int:pk>/restore/", archive_views.indicator_restore_view, name="indicator-restore"),
    path("<int:pk>/export.<str:fmt>", views.export_measurements, name="indicator-export"),
    path("measures/<int:pk>/edit/", views.MeasureUpdateView.as_view(), name="measure-update"),
    path("measures/<int:pk>/measurements/add/", views.MeasurementCreateView.as_view(), name="measurement-create"),
    path("measurements/<int:pk>/edit/", views.MeasurementUpdateView.as_view(), name="measurement-update"),
    path("measures/<int:pk>/report/", views.MeasurementSubmitView.as_view(), name="measurement-submit"),
    path(
        "submissions/<int:pk>/accept/",
        views.measurement_submission_accept_view,
        name="measurement-submission-accept",
    ),
    path(
        "submissions/<int:pk>/return/",
        views.measurement_submission_return_view,
        name="measurement-submission-return",
    ),
    path("export.<str:fmt>", views.export_measurements, name="export"),
    path("import/", views.ImportUploadView.as_view(), name="import-upload"),
    path("import/template.<str:fmt>", views.import_template, name="import-template"),
    path("import/<uuid:token>/", views.import_preview, name="import-preview"),
    path("import/<uuid:token>/confirm/", views.import_confirm, name="import-confirm"),
    path("import/<uuid:token>/errors.csv", views.import_errors, name="import-errors"),
]
