import django_tables2 as tables
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from .models import Action, Status
from .templatetags.plan_tags import status_tag

AWAITING_REVIEW = "Submitted, awaiting review"
EMPTY = "—"  # what django-tables2 shows for an empty value


class ActionTable(tables.Table):
    """The action register. `value_*` methods give the plain values the CSV and Excel exports use."""

    code = tables.Column(
        verbose_name="Code", linkify=True, order_by=("sort_key",), attrs={"a": {"class": "govuk-link"}}
    )
    title = tables.Column(verbose_name="Title")
    objective = tables.Column(
        verbose_name="Objective", accessor="objective__code", order_by=("objective__sort_key", "sort_key")
    )
    status = tables.Column(verbose_name="Status", order_by=("status_rank", "sort_key"))
    owner = tables.Column(verbose_name="Owner", order_by=("owner__last_name", "owner__first_name", "sort_key"))
    partners = tables.Column(
        verbose_name="Partners", accessor="pk", order_by=("first_partner_name", "sort_key"), empty_values=()
    )
    last_update = tables.Column(
        verbose_name="Last update", accessor="last_update__created_at", order_by=("last_update__created_at", "sort_key")
    )
    next_update_due = tables.DateColumn(verbose_name="Next update due", format="j M Y", order_by=("next_update_due",))
    overdue = tables.Column(
        verbose_name="Overdue", accessor="pk", order_by=("overdue_flag", "next_update_due"), empty_values=()
    )

    class Meta:
        model = Action
        fields = ()
        sequence = (
            "code",
            "title",
            "objective",
            "status",
            "owner",
            "partners",
            "last_update",
            "next_update_due",
            "overdue",
        )
        order_by = ("code",)
        attrs = {"class": "govuk-table app-table--compact", "id": "action-register"}

    def body_html(self):
        """The page's rows, each cell as its render_* method makes it, written in plain Python.

        django-tables2 would look up each cell's accessor and inspect its render method's signature, once
        per cell (450 a page): this calls the same methods directly. Same markup as includes/table.html.
        """
        rows = []
        for row in self.paginated_rows:
            record = row.record
            last_update = record.last_update.created_at if record.last_update_id else None
            cells = (
                format_html('<a class="govuk-link" href="{}">{}</a>', record.get_absolute_url(), record.code),
                record.title,
                self.render_objective(record),
                self.render_status(record),
                self.render_owner(record.owner) if record.owner_id else EMPTY,
                self.render_partners(record),
                self.render_last_update(last_update, record) if last_update else EMPTY,
                format_date(record.next_update_due, "j M Y") if record.next_update_due else EMPTY,
                self.render_overdue(record),
            )
            tds = "".join(f'\n      <td class="govuk-table__cell">{conditional_escape(cell)}</td>' for cell in cells)
            rows.append(f'\n    <tr class="govuk-table__row">{tds}\n    </tr>')
        # Every cell is escaped above, or made by format_html.
        return mark_safe("".join(rows))  # noqa: S308  # nosec B308 B703

    def render_objective(self, record):
        return format_html('<span title="{}">{}</span>', record.objective.title, record.objective.code)

    def value_objective(self, record):
        return f"{record.objective.code} {record.objective.title}"

    def render_status(self, record):
        return status_tag(record.status)

    def value_status(self, record):
        return Status(record.status).label

    def render_owner(self, value):
        return value.get_full_name() or value.get_username()

    def value_owner(self, value):
        return value.get_full_name() or value.get_username()

    def _partners(self, record):
        return list(record.partnerships.all())

    def render_partners(self, record):
        partners = self._partners(record)
        if not partners:
            return "—"
        return format_html(
            '<ul class="govuk-list govuk-!-font-size-16 govuk-!-margin-bottom-0">{}</ul>',
            format_html_join(
                "",
                "<li>{}{}</li>",
                ((p.organisation.display_name, " (lead)" if p.role == p.Role.LEAD else "") for p in partners),
            ),
        )

    def value_partners(self, record):
        return "; ".join(
            f"{p.organisation.name}{' (lead)' if p.role == p.Role.LEAD else ''}" for p in self._partners(record)
        )

    def render_last_update(self, value, record):
        author = record.last_update.author
        who = (author.get_full_name() or author.get_username()) if author else "unknown"
        return format_html(
            '{}<br><span class="govuk-hint govuk-!-font-size-16">{}</span>', value.strftime("%-d %b %Y"), who
        )

    def value_last_update(self, value, record):
        author = record.last_update.author
        who = (author.get_full_name() or author.get_username()) if author else ""
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M} {who}".strip()

    def _overdue_label(self, record):
        # Submitted progress is the partner's report until the secretariat decides (with_awaiting_review).
        if getattr(record, "awaiting_review", False):
            return AWAITING_REVIEW
        return "Overdue" if record.is_overdue else ""

    def render_overdue(self, record):
        label = self._overdue_label(record)
        if not label:
            return ""
        colour = "govuk-tag--light-blue" if label == AWAITING_REVIEW else "govuk-tag--red"
        return format_html('<strong class="govuk-tag {}">{}</strong>', colour, label)

    def value_overdue(self, record):
        return self._overdue_label(record)
