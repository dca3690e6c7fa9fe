"""Bench-only settings: the product's settings, plus the bench's comparison views on their own URLconf.

Served only by `make bench` / `make drills` on 127.0.0.1; never part of a deployment.
"""

from tracker.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# Plain HTTP on the loopback: no redirect to HTTPS, no HSTS.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
# No collectstatic in a bench run: pages link static files by their plain names.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The bench sends one token's requests back to back: the per-token limit is not what it measures.
API_REQUESTS_PER_MINUTE = 1_000_000
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
