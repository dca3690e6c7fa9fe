from django.urls import path

from .views import dashboard, reports, reviews

app_name = "overview"

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("reports/progress/", reports.progress_report, name="progress-report"),
    path("reports/progress.xlsx", reports.progress_report_xlsx, name="progress-report-xlsx"),
    path("reviews/", reviews.review_queue, name="review-queue"),
    path("reviews/<int:pk>/accept/", reviews.submission_accept_view, name="submission-accept"),
    path("reviews/<int:pk>/return/", reviews.submission_return_view, name="submission-return"),
]
