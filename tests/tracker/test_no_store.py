"""Cache-Control: no-store on signed-in pages and every download (private data must not sit in shared caches)."""

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from tracker.middleware import NoStoreMiddleware

pytestmark = pytest.mark.django_db

PAGES = [
    "home",
    "priorities:action-list",
    "overview:dashboard",
    "priorities:plan",
    "overview:review-queue",
    "indicators:indicator-list",
]
DOWNLOADS = [
    "priorities:action-export-csv",
    "priorities:action-export-xlsx",
    "overview:progress-report-xlsx",
]


@pytest.mark.parametrize("name", PAGES + DOWNLOADS)
def test_signed_in_pages_and_downloads_are_never_stored(client, secretariat, plan5, name):
    client.force_login(secretariat)
    response = client.get(reverse(name))
    assert response.status_code in (200, 302)  # home redirects to the role's start page
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_an_anonymous_download_is_never_stored_and_an_explicitly_public_page_is_left_alone():
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()

    def download(request):
        response = HttpResponse("a,b")
        response["Content-Disposition"] = 'attachment; filename="x.csv"'
        return response

    def public(request):
        response = HttpResponse("hello")
        response["Cache-Control"] = "public, max-age=300"
        return response

    assert "no-store" in NoStoreMiddleware(download)(request)["Cache-Control"]
    assert NoStoreMiddleware(public)(request)["Cache-Control"] == "public, max-age=300"
    assert not NoStoreMiddleware(lambda request: HttpResponse("login"))(request).has_header("Cache-Control")
