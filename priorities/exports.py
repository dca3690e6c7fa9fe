"""The register's CSV and Excel downloads: rows straight from `values()` (tracker.spreadsheets writes them)."""

from django.utils import timezone

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


def _person(first, last, username):
    """As User.get_full_name() or the username, from plain columns."""
    return f"{first or ''} {last or ''}".strip() or (username or "")


def register_rows(actions):
    """The heading and one row of typed cells (text, dates) per action of an ordered register queryset."""
    today = timezone.localdate()
    yield REGISTER_HEADINGS
    partners = actions.partner_lists()
    for row in actions.export_rows().iterator(chunk_size=2000):
        updated = row["last_update__created_at"]
        due = row["next_update_due"]
        yield [
            row["code"],
            row["title"],
            f"{row['objective__code']} {row['objective__title']}",
            STATUS_LABELS.get(row["status"], row["status"]),
            _person(row["owner__first_name"], row["owner__last_name"], row["owner__username"]),
            partners.get(row["pk"], ""),
            timezone.localtime(updated).date() if updated else None,
            _person(
                row["last_update__author__first_name"],
                row["last_update__author__last_name"],
                row["last_update__author__username"],
            ),
            due,
            # As Action.is_overdue.
            "Overdue" if due is not None and due < today and row["status"] != Status.COMPLETED else "",
        ]
