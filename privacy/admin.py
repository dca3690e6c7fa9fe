from django.contrib import admin

from tracker.admin import ReadOnlyAdmin

from .models import Anonymisation, RetentionHold, RetentionRun


@admin.register(RetentionHold)
class RetentionHoldAdmin(ReadOnlyAdmin):
    """Set and released on the person's page (the service checks and records who and when)."""

    list_display = ["person", "set_by", "set_at", "released_at"]
    list_select_related = ["person", "set_by"]


@admin.register(Anonymisation)
class AnonymisationAdmin(ReadOnlyAdmin):
    list_display = ["person", "done_at", "via", "done_by"]
    list_select_related = ["person", "done_by"]


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "trigger", "dry_run", "removed"]
    list_filter = ["trigger", "dry_run"]
