"""gunicorn's settings for Plan Tracker (`gunicorn -c python:tracker.gunicorn_config ...`).

With PROMETHEUS_MULTIPROC_DIR set, each worker keeps its metrics in files of that folder and /metrics,
served by any worker, adds them up (tracker/multiprocess_metrics.py). When a worker ends, its live gauges
are forgotten; its counters stay, so totals never go back.
"""

from tracker.multiprocess_metrics import mark_process_dead


def child_exit(server, worker):
    mark_process_dead(worker.pid)
