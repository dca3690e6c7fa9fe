from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.utils import timezone

from .accounts import two_step_reset
from .models import Organisation, User
from .security import client_address


class ReadOnlyAdmin(admin.ModelAdmin):
    """For audit trails, written only by the services: the admin shows them and nothing else."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "kind", "country", "contact_email", "two_step_required"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "short_name", "country", "contact_email"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "organisation", "is_active"]
    list_filter = ["role", "organisation", "is_active", "is_staff"]
    search_fields = ["username", "email", "first_name", "last_name", "organisation__name"]
    list_select_related = ["organisation"]
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Plan Tracker", {"fields": ["role", "organisation"]}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Plan Tracker", {"fields": ["email", "role", "organisation"]}))
    actions = ["reset_two_step"]

    @admin.action(description="Reset two-step sign-in (they set it up again when they next sign in)")
    def reset_two_step(self, request, queryset):
        # Through the service, so each reset is logged and the person is told by email.
        for person in queryset:
            try:
                two_step_reset(user=person, by=request.user, client=client_address(request))
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.WARNING)
            else:
                self.message_user(request, f"Two-step sign-in for {person} is reset.", messages.SUCCESS)

    # Set by Django, not typed: editable, an untouched save cut them to the whole second.
    readonly_fields = ["last_login", "date_joined"]

    def save_model(self, request, obj, form, change):
        # Unticking "active" here deactivates as the product does: retention counts from that moment.
        if "is_active" in form.changed_data or not change:
            obj.deactivated_at = None if obj.is_active else timezone.now()
        super().save_model(request, obj, form, change)
