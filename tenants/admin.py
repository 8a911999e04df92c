from typing import cast

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.models import ApiKey, Membership, RequestLog, Role, Tenant, UsageCounter
from tenants.services import api_key_create, api_key_revoke


def admin_user(request: HttpRequest) -> User:
    """The staff user of an admin request: the admin site lets no anonymous user in, but
    HttpRequest types `user` for any view."""
    return cast(User, request.user)


def admin_tenant_ids(request: HttpRequest) -> QuerySet | None:
    """Tenants a staff user may manage in the admin; None means all (superusers)."""
    if request.user.is_superuser:
        return None
    return Membership.objects.filter(
        user=admin_user(request), role__in=[Role.ADMIN, Role.OWNER]
    ).values("tenant_id")


class TenantScopedAdmin(admin.ModelAdmin):
    """Staff who are not superusers see and edit only rows of tenants they administer."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        tenant_ids = admin_tenant_ids(request)
        return queryset if tenant_ids is None else queryset.filter(tenant_id__in=tenant_ids)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        tenant_ids = admin_tenant_ids(request)
        if db_field.name == "tenant" and tenant_ids is not None:
            kwargs["queryset"] = Tenant.objects.filter(id__in=tenant_ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin(TenantScopedAdmin):
    """Rows written only by services: staff look, they do not edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "status", "created_at"]
    list_filter = ["plan", "status"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["slug", "name", "plan", "status"]}),
        (
            "Quota overrides (empty: the plan's value)",
            {"fields": ["max_positions_per_project", "max_jobs_per_month", "max_evidence_bytes"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        tenant_ids = admin_tenant_ids(request)
        return queryset if tenant_ids is None else queryset.filter(id__in=tenant_ids)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__slug"]
    autocomplete_fields = ["user"]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ["name", "tenant", "prefix", "role", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["role", "tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "tenant__slug"]
    actions = ["revoke"]
    # The hash is never shown; the key itself exists only in the message after creation.
    exclude = ["hashed_key"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["tenant", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "name", "role"]
        return [
            "tenant",
            "name",
            "role",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_create(
            tenant=obj.tenant, name=obj.name, role=obj.role, created_by=request.user
        )
        # The admin redirects with obj.pk: point it at the row the service made.
        obj.pk = issued.api_key.pk
        obj.id = issued.api_key.id
        messages.warning(
            request,
            f"The new API key is {issued.secret} — copy it now; it will not be shown again.",
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        self.message_user(request, "Revoked.", messages.SUCCESS)


@admin.register(UsageCounter)
class UsageCounterAdmin(TenantScopedAdmin):
    list_display = ["tenant", "month", "metric", "value"]
    list_filter = ["metric", "month"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(RequestLog)
class RequestLogAdmin(ReadOnlyAdmin):
    """Read-only: the log records what happened."""

    list_display = [
        "created_at",
        "tenant",
        "method",
        "path",
        "status_code",
        "duration_ms",
        "api_key",
        "user",
        "ip",
    ]
    list_filter = ["method", "status_code", "tenant"]
    search_fields = ["path", "request_id"]
    date_hierarchy = "created_at"
    list_select_related = ["tenant", "api_key", "user"]
    # A changelist COUNT over millions of rows is slow; the pager shows "more" instead.
    show_full_result_count = False
