"""/api/v1/: the read API, the writes for integrations, the feeds, the OpenAPI schema and its docs."""

from typing import Any

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.routers import APIRootView, DefaultRouter

from . import views
from .errors import not_found
from .feeds import FEEDS, feed_view
from .schema import API_VERSION

app_name = "api"


class Root(APIRootView):
    """Where everything is: the endpoints (a token needed), the feeds, the schema and the docs (public)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        links = {
            "version": API_VERSION,
            "schema": reverse("api:schema", request=request),
            "docs": reverse("api:docs", request=request),
            "endpoints": response.data,
            "feeds": {
                name: {fmt: reverse(f"api:feed-{name}-{fmt}", request=request) for fmt in ("csv", "json")}
                for name in FEEDS
            },
        }
        return Response(links)


class Router(DefaultRouter):
    include_format_suffixes = False  # JSON is the only format; the .csv and .json addresses are the feeds'
    APIRootView = Root


router = Router()
router.register("plans", views.PlanViewSet, basename="plan")
router.register("priorities", views.PriorityViewSet, basename="priority")
router.register("objectives", views.ObjectiveViewSet, basename="objective")
router.register("actions", views.ActionViewSet, basename="action")
router.register("status-history", views.StatusHistoryViewSet, basename="status-history")
router.register("indicators", views.IndicatorViewSet, basename="indicator")
router.register("measures", views.MeasureViewSet, basename="measure")
router.register("measurements", views.MeasurementViewSet, basename="measurement")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("submissions", views.SubmissionViewSet, basename="submission")
router.register("value-submissions", views.ValueSubmissionViewSet, basename="value-submission")
router.register("reminders", views.ReminderViewSet, basename="reminder")

urlpatterns = [
    path(
        "v1/schema/",
        SpectacularAPIView.as_view(custom_settings={"VERSION": API_VERSION}),
        name="schema",
    ),
    path(
        "v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    *(
        path(f"v1/feeds/{name}.{fmt}", feed_view(feed, fmt).as_view(), name=f"feed-{name}-{fmt}")
        for name, feed in FEEDS.items()
        for fmt in ("csv", "json")
    ),
    path("v1/", include(router.urls)),
    # Anything else under /api/ is a 404 in the API's JSON shape, not the site's HTML page.
    re_path(r"^.*$", not_found, name="not-found"),
]
