"""The outbox's rows in the admin: shown, never added or edited; failed ones can be sent again."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Notification, Reminder
from .notifications import notifications_retry_failed
from .reminders import reminders_retry_failed


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """Reminders are written and sent by the job: the admin shows them, and failed ones can be put back to pending."""

    list_display = ["recipient_email", "action", "kind", "sequence", "cycle", "state", "attempts", "sent_at"]
    list_filter = ["state", "kind", "organisation"]
    search_fields = ["recipient_email", "action__code", "action__title"]
    date_hierarchy = "created_at"
    list_select_related = ["action"]
    readonly_fields = [field.name for field in Reminder._meta.fields]
    actions = ["retry_failed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send the selected failed reminders again")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = reminders_retry_failed(reminder_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed reminder(s) queued to be sent again.")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Notifications are written by the services and sent by tasks: shown here; failed ones can be sent again."""

    list_display = ["recipient_email", "kind", "delivery", "subject", "state", "attempts", "created_at", "sent_at"]
    list_filter = ["state", "kind", "delivery"]
    search_fields = ["recipient_email", "subject", "action__code"]
    date_hierarchy = "created_at"
    # Not the text or the link: a new report link is in them, and whoever reads it could report as its recipient.
    fields = readonly_fields = tuple(
        f.name for f in Notification._meta.fields if f.name not in ("id", "text", "link_url")
    )
    actions = ["retry_failed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Send the selected failed notifications again")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = notifications_retry_failed(notification_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed notification(s) queued to be sent again.")
