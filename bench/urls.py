"""The product's URLs plus two comparison views, for the bench only (see bench/settings.py)."""

from django.urls import include, path

from tracker.urls import handler500  # noqa: F401  (the product's 500 handler: outages in middleware are 503s)

from . import views

urlpatterns = [
    path("bench/no-db/", views.no_database, name="bench-no-db"),
    path("bench/raw-dashboard/", views.raw_dashboard, name="bench-raw-dashboard"),
    path("bench/raw-export.csv", views.raw_export_csv, name="bench-raw-export-csv"),
    path("bench/raw-feed.csv", views.raw_feed_csv, name="bench-raw-feed-csv"),
    path("", include("tracker.urls")),
]
