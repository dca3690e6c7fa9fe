from celery import shared_task


@shared_task
def ping():
    """Answers "pong": proves a worker takes tasks from the broker (`celery -A tracker call tracker.tasks.ping`)."""
    return "pong"
