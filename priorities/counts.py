"""The plan's stored counts, kept by the services that change what they count (writes, so services).

- `objective_status_recount`: how many live actions of an objective have each status
  (ObjectiveStatusCount, read by the dashboard with ObjectiveStatusCount.objects.by_objective()).
- `partnership_reported`: when a partner organisation last reported on an action
  (ActionPartner.last_reported_at, read by the register's and the organisation page's reporting columns).
"""

import datetime
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q

from tracker.models import Organisation

from .models import Action, ActionPartner, Objective, ObjectiveStatusCount, Status


@transaction.atomic
def objective_status_recount(*, objective_ids: Iterable[int]) -> None:
    """Count again the actions of these objectives per status and store the counts (services call it).

    Locks the objectives' rows first, so two transactions recounting one objective take turns and
    the second counts what the first committed; the lock lasts until the caller's transaction ends.
    """
    ids = sorted(set(objective_ids))
    if not ids:
        return
    list(Objective.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    found = {
        (row["objective_id"], row["status"]): row["n"]
        for row in Action.objects.filter(objective_id__in=ids, archived_at__isnull=True)
        .order_by()
        .values("objective_id", "status")
        .annotate(n=Count("pk"))
    }
    rows = [
        ObjectiveStatusCount(objective_id=pk, status=status, count=found.get((pk, status), 0))
        for pk in ids
        for status in Status.values
    ]
    ObjectiveStatusCount.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["objective", "status"], update_fields=["count"]
    )


@transaction.atomic
def partnership_reported(*, action: Action, organisation: Organisation | None, at: datetime.datetime) -> int:
    """Record that `organisation` reported on `action` at `at` (an update or a submission), if it is the latest.

    Returns how many partnerships changed (0 or 1).
    """
    return (
        ActionPartner.objects.filter(action=action, organisation=organisation)
        .filter(Q(last_reported_at__isnull=True) | Q(last_reported_at__lt=at))
        .update(last_reported_at=at)
    )
