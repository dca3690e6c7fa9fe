"""Settings for the reminder integration tests' Celery worker: the project's, plus a test queue and short backoff."""

import os

from tracker.settings import *  # noqa: F403

# Our own queue on the test broker, so other test runs' workers never take our tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ["REMINDERS_TEST_QUEUE"]
# Seconds, doubled on each retry: 1, 2, 4, 8 keeps the mail-server outage test short.
REMINDER_RETRY_BACKOFF_SECONDS = 1
if os.environ.get("REMINDERS_TEST_VISIBILITY_TIMEOUT"):
    # Redis hands a killed worker's unacknowledged task to another worker after this many seconds.
    # kombu sweeps for such tasks every interval x throttle seconds (10 x 10 by default): every second here.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ["REMINDERS_TEST_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
