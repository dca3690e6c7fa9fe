"""The register's CSV and Excel downloads: rows straight from `values_list()` (tracker.spreadsheets writes them)."""

from django.utils import timezone

from tracker.spreadsheets import person_name

from .models import Status

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

    Two queries whatever the number of actions: the partner lists, then the rows, read in chunks.
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
            # As Action.is_overdue.
            "Overdue" if due is not None and due < today and status != Status.COMPLETED else "",
        ]
