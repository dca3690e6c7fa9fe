"""The register's CSV and Excel downloads: rows straight from `values_list()` (tracker.spreadsheets writes them)."""

from django.utils import timezone

from tracker.spreadsheets import person_name

from .models import Status
from .tables import AWAITING_REVIEW

REGISTER_HEADINGS = [
    "Code",
    "Title",
    "Objective",
    "Status",
    "Owner",
    "Partners",
    "Last update",
    "Last update by",
    "Next update due",
    "Overdue",
]
STATUS_LABELS = dict(Status.choices)


def register_rows(actions):
    """The heading and one row of typed cells (text, dates) per action of an ordered register queryset.

    Two queries whatever the number of actions: the partner lists, then the rows, read in chunks. The
    queryset is annotated by with_awaiting_review(user), as the register's is: progress submitted and
    awaiting review reads "Submitted, awaiting review" in the Overdue column, as on the register.
    """
    today = timezone.localdate()
    yield REGISTER_HEADINGS
    partners = actions.partner_lists()
    for (
        pk,
        code,
        title,
        objective_code,
        objective_title,
        status,
        owner_first,
        owner_last,
        owner_username,
        updated,
        author_first,
        author_last,
        author_username,
        due,
        awaiting_review,
    ) in actions.export_rows().iterator(chunk_size=2000):
        yield [
            code,
            title,
            f"{objective_code} {objective_title}",
            STATUS_LABELS.get(status, status),
            person_name(owner_first, owner_last, owner_username),
            partners.get(pk, ""),
            timezone.localtime(updated).date() if updated else None,
            person_name(author_first, author_last, author_username),
            due,
            _overdue_label(awaiting_review, due, status, today),
        ]


def _overdue_label(awaiting_review, due, status, today):
    """The register's Overdue column (ActionTable._overdue_label): awaiting review first, then Action.is_overdue."""
    if awaiting_review:
        return AWAITING_REVIEW
    return "Overdue" if due is not None and due < today and status != Status.COMPLETED else ""
