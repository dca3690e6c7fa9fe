"""Prometheus metrics shared by the processes of a host (gunicorn's workers, Celery's pool) through files.

With PROMETHEUS_MULTIPROC_DIR set, prometheus_client keeps each process's metrics in a file of that
folder and /metrics adds them all up. The files are named after the process; prometheus_client uses the
process id, which two containers sharing the folder (web and worker in docker-compose) can both have:
here the name is the host name and the process id. This module must be imported before any metric is
made (tracker/__init__.py imports it first).
"""

import os
import socket

from prometheus_client import multiprocess, values

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
_HOST = socket.gethostname().replace("_", "-")  # an underscore would split the file name's fields


def process_identifier(pid=None):
    """The name of a process's metrics file: distinct for every process that writes to the folder."""
    return f"{_HOST}-{pid or os.getpid()}"


def mark_process_dead(pid):
    """Gunicorn's child_exit hook: forget the live gauges of a worker that ended (its counters stay)."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(process_identifier(pid))


if MULTIPROCESS:
    values.ValueClass = values.MultiProcessValue(process_identifier=process_identifier)
elif "PROMETHEUS_MULTIPROC_DIR" in os.environ:
    # Set but empty (an empty line in an env file): prometheus_client would write its files into the
    # current folder. Empty means unset.
    del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    values.ValueClass = values.MutexValue
