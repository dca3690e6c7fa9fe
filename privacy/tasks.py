from celery import shared_task

from .models import RetentionRun
from .retention import retention_apply


@shared_task(acks_late=True, reject_on_worker_lost=True)
def apply_retention() -> dict[str, int]:
    """Beat's daily job: apply the retention schedule and report what it removed."""
    run = retention_apply(trigger=RetentionRun.Trigger.SCHEDULE)
    return run.removed
