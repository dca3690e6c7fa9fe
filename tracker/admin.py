from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import Organisation, User


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
    list_display = ["name", "short_name", "kind", "country", "contact_email"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "short_name", "country", "contact_email"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "organisation", "is_active"]
    list_filter = ["role", "organisation", "is_active", "is_staff"]
    search_fields = ["username", "email", "first_name", "last_name", "organisation__name"]
    list_select_related = ["organisation"]
    fieldsets = DjangoUserAdmin.fieldsets + (("Plan Tracker", {"fields": ["role", "organisation"]}),)
    add_fieldsets = DjangoUserAdmin.add_fieldsets + (("Plan Tracker", {"fields": ["email", "role", "organisation"]}),)
    # Set by Django, not typed: editable, an untouched save cut them to the whole second.
    readonly_fields = ["last_login", "date_joined"]
