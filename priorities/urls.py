from django.urls import path

from .views import (
    actions,
    archive,
    plan,
    plan_editing,
    plan_periods,
    submissions,
)

app_name = "priorities"

urlpatterns = [
    path("plan/", plan.plan_overview, name="plan"),
    path("plan/choose/", plan.plan_choose_view, name="plan-choose"),
    path("actions/", actions.action_register, name="action-list"),
    path("actions/export.csv", actions.action_export_csv, name="action-export-csv"),
    path("actions/export.xlsx", actions.action_export_xlsx, name="action-export-xlsx"),
    path("actions/<int:pk>/", actions.action_detail, name="action-detail"),
    path("actions/<int:pk>/updates/", actions.action_record_update_view, name="action-record-update"),
    path("actions/<int:pk>/edit/", actions.action_edit, name="action-edit"),
    path("actions/<int:pk>/submit/", submissions.submission_create_view, name="submission-create"),
    path(
        "actions/<int:pk>/updates/<int:update_pk>/public/",
        actions.progress_update_public_view,
        name="progress-update-public",
    ),
    path("plan/new/", plan_editing.plan_create_view, name="plan-create"),
    path("plan/<int:pk>/edit/", plan_editing.plan_edit_view, name="plan-edit"),
    path("plan/<int:pk>/priorities/new/", plan_editing.priority_create_view, name="priority-create"),
    path("priorities/<int:pk>/edit/", plan_editing.priority_edit_view, name="priority-edit"),
    path("priorities/<int:pk>/objectives/new/", plan_editing.objective_create_view, name="objective-create"),
    path("objectives/<int:pk>/edit/", plan_editing.objective_edit_view, name="objective-edit"),
    path("objectives/<int:pk>/actions/new/", plan_editing.action_create_view, name="action-create"),
    path("plan/<int:pk>/publish/", plan.plan_publish_view, name="plan-publish"),
    path("plan/<int:pk>/unpublish/", plan.plan_unpublish_view, name="plan-unpublish"),
    path("actions/<int:pk>/archive/", archive.action_archive_view, name="action-archive"),
    path("actions/<int:pk>/restore/", archive.action_restore_view, name="action-restore"),
    path("plan/objectives/<int:pk>/archive/", archive.objective_archive_view, name="objective-archive"),
    path("plan/objectives/<int:pk>/restore/", archive.objective_restore_view, name="objective-restore"),
    path("plan/priorities/<int:pk>/archive/", archive.priority_archive_view, name="priority-archive"),
    path("plan/priorities/<int:pk>/restore/", archive.priority_restore_view, name="priority-restore"),
    path("plan/archived/", archive.archived_items, name="archived-items"),
    path("plan/<int:pk>/next/", plan_periods.plan_start_next_view, name="plan-start-next"),
]
