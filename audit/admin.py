from django.contrib import admin

from tracker.admin import ReadOnlyAdmin

from .models import AccessEvent, SecurityEvent


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    """Append-only: the admin lists the access log and changes nothing (the product's page filters it too)."""

    list_display = ["at", "user", "role", "organisation", "kind", "what", "rows", "client"]
    list_filter = ["kind", "role"]
    list_select_related = ["user", "organisation"]
    date_hierarchy = "at"


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """Append-only: the security log as stored, read here."""

    list_display = ["at", "level", "message"]
    list_filter = ["level"]
    search_fields = ["message", "username"]
    date_hierarchy = "at"
