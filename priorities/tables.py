import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .models import Action, Status
from .templatetags.plan_tags import status_tag

AWAITING_REVIEW = "Submitted, awaiting review"


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
