"""Users in the admin. Superusers get Django's user admin; staff who administer some tenants see
only the members of those tenants (and themselves), read-only: they add members by invitation,
never by creating accounts or editing permissions."""

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.admin.base import admin_tenant_ids, scoped
from tenants.models import Membership

User = get_user_model()

_MEMBER_FIELDSETS = (
    (None, {"fields": ("username", "first_name", "last_name", "email")}),
    ("Status", {"fields": ("is_active", "last_login", "date_joined")}),
)


class UserMembershipInline(admin.TabularInline):
    """The user's roles, in the staff user's tenants only."""

    model = Membership
    fk_name = "user"
    fields = ["tenant", "role", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped(request, super().get_queryset(request)).select_related("tenant")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "tenant":
            kwargs["queryset"] = scoped(request, db_field.related_model.objects.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class TenantUserAdmin(UserAdmin):
    inlines = [UserMembershipInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scoped(request, super().get_queryset(request))

    def get_list_filter(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:
            return super().get_list_filter(request)
        return ("is_active",)

    def get_list_display(self, request: HttpRequest) -> Any:
        if request.user.is_superuser:
            return super().get_list_display(request)
        return ("username", "email", "first_name", "last_name", "is_active", "last_login")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return _MEMBER_FIELDSETS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return [field for _, options in _MEMBER_FIELDSETS for field in options["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not request.user.is_superuser and obj is not None and obj.pk != request.user.pk:
            # Their view only: accounts are the superusers' and their own.
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if admin_tenant_ids(request):
            # Administering a tenant includes seeing its members.
            return True
        return super().has_view_permission(request, obj)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        if not request.user.is_superuser and str(request.user.pk) != str(id):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)
