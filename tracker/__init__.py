# First, before any Prometheus metric exists: how processes sharing PROMETHEUS_MULTIPROC_DIR name their files.
from . import multiprocess_metrics  # noqa: F401, I001

# The Celery app is loaded with Django so that @shared_task binds to it (cookiecutter-django layout).
from .celery import app as celery_app

__all__ = ("celery_app",)
