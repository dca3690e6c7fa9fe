"""Requests per token per minute, counted in the shared cache: 429 with Retry-After past the limit."""

import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:
    # Only for annotations: DRF's views module imports the permission and throttle classes from the settings.
    from rest_framework.views import APIView

WINDOW_SECONDS = 60


class TokenRateThrottle(BaseThrottle):
    """A fixed one-minute window per token: one atomic `incr` in the cache per request (Redis in production).

    DRF's own throttles keep a list of request times that two processes read and write in turn, so
    concurrent requests undercount; a counter does not.
    """

    def allow_request(self, request: Request, view: "APIView") -> bool:
        token = request.auth
        if token is None:  # refused earlier (401); nothing to count against
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        self.retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
        key = f"api-throttle:{token.pk}:{window}"
        cache.add(key, 0, WINDOW_SECONDS + 5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, WINDOW_SECONDS + 5)
            count = 1
        return count <= settings.API_REQUESTS_PER_MINUTE

    def wait(self) -> float | None:
        return self.retry_after
