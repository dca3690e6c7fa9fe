from django.contrib import admin

from tracker.admin import ReadOnlyAdmin

from .models import (
    Action,
    ActionChange,
    ActionPartner,
    Objective,
    Plan,
    PlanChange,
    Priority,
    ProgressUpdate,
)
from .services import DETAIL_FIELDS, action_create, action_update_details, actions_delete


class PriorityInline(admin.TabularInline):
    model = Priority
    extra = 0


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation_name", "start_date", "end_date", "published_at"]
    search_fields = ["title", "organisation_name"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [PriorityInline]


class ObjectiveInline(admin.TabularInline):
    model = Objective
    extra = 0


@admin.register(Priority)
class PriorityAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "plan"]
    list_filter = ["plan"]
    search_fields = ["title", "aim"]
    inlines = [ObjectiveInline]


@admin.register(Objective)
class ObjectiveAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "priority"]
    list_filter = ["priority__plan", "priority"]
    search_fields = ["code", "title"]


class ActionPartnerInline(admin.TabularInline):
    model = ActionPartner
    extra = 0
    autocomplete_fields = ["organisation"]


class ProgressUpdateInline(admin.TabularInline):
    """Updates are append-only: the admin shows them but cannot edit or delete them."""

    model = ProgressUpdate
    extra = 0
    fields = readonly_fields = (
        "created_at",
        "previous_status",
        "status",
        "note",
        "evidence_url",
        "author",
        "organisation",
        "is_public",
    )
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False


class ActionChangeInline(admin.TabularInline):
    model = ActionChange
    extra = 0
    fields = readonly_fields = ("changed_at", "changed_by", "via", "field", "old_value", "new_value")
    can_delete = False
    ordering = ["-changed_at", "-pk"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    """Saves go through the services, so admin edits are in the action's change history too."""

    list_display = ["code", "title", "objective", "status", "owner", "next_update_due"]
    list_filter = ["status", "objective__priority__plan", "objective", "owner", "update_frequency"]
    search_fields = ["code", "title", "description", "partnerships__organisation__name"]
    list_select_related = ["objective", "owner"]
    # Status changes only through progress updates, so that every change has a history entry.
    readonly_fields = ["status", "next_update_due", "version", "created_at", "updated_at"]
    inlines = [ActionPartnerInline, ProgressUpdateInline, ActionChangeInline]

    def get_readonly_fields(self, request, obj=None):
        # The code and objective identify a published action: fixed once it exists.
        return [*self.readonly_fields, "code", "objective"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        details = {field: form.cleaned_data[field] for field in DETAIL_FIELDS if field in form.cleaned_data}
        if change:
            action_update_details(action=obj, by=request.user, via="admin", **details)
        else:
            created = action_create(
                objective=form.cleaned_data["objective"],
                code=form.cleaned_data["code"],
                by=request.user,
                via="admin",
                **details,
            )
            obj.pk = created.pk
            obj.refresh_from_db()

    def delete_model(self, request, obj):
        actions_delete(actions=Action.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        actions_delete(actions=queryset)

    def save_related(self, request, form, formsets, change):
        # Partners are saved by the service from the inline's cleaned data, not by the formset.
        form.save_m2m()
        for formset in formsets:
            if formset.model is not ActionPartner:
                self.save_formset(request, form, formset, change=change)
                continue
            pairs = [
                (row["organisation"], row["role"])
                for row in formset.cleaned_data
                if row and not row.get("DELETE") and row.get("organisation")
            ]
            action_update_details(action=form.instance, by=request.user, via="admin", partners=pairs)
            # The admin's change message reads these; the service has done the saving.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


@admin.register(ProgressUpdate)
class ProgressUpdateAdmin(admin.ModelAdmin):
    list_display = ["action", "status", "previous_status", "author", "organisation", "created_at"]
    list_filter = ["status", "organisation", "is_demo"]
    search_fields = ["action__code", "action__title", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["action", "author", "organisation"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ActionChange)
class ActionChangeAdmin(ReadOnlyAdmin):
    """The audit trail: read-only."""

    list_display = ["action", "field", "old_value", "new_value", "changed_by", "via", "changed_at"]
    list_filter = ["field", "via"]
    search_fields = ["action__code", "old_value", "new_value"]
    date_hierarchy = "changed_at"
    list_select_related = ["action", "changed_by"]


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyAdmin):
    """The audit trail of plans, priorities and objectives: read-only."""

    list_display = ["plan", "item_label", "field", "old_value", "new_value", "changed_by", "via", "changed_at"]
    list_filter = ["item_kind", "field", "via"]
    search_fields = ["item_label", "old_value", "new_value"]
    date_hierarchy = "changed_at"
    list_select_related = ["plan", "changed_by"]
