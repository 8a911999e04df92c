"""Admin for tenants, memberships, API keys, usage and the request log. Staff who are not
superusers manage their own tenants' members and keys; plans, quotas and suspension are the
superusers'."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.display import badge, count
from core.errors import ApiError
from tenants.admin.base import (
    ReadOnlyAdmin,
    TenantScopedAdmin,
    admin_tenant_ids,
    admin_tenants,
    admin_user,
    scoped,
)
from tenants.invitations import MAX_EMAIL_LENGTH, member_invite
from tenants.models import ApiKey, Membership, RequestLog, Role, Tenant, UsageCounter
from tenants.services import api_key_create, api_key_revoke

_SUPERUSER_TENANT_FIELDS = [
    "plan",
    "status",
    "max_positions_per_project",
    "max_jobs_per_month",
    "max_evidence_bytes",
]


def _own_role(request: HttpRequest, tenant_id: Any) -> str:
    """The staff user's role in the tenant (owner for superusers)."""
    if request.user.is_superuser:
        return Role.OWNER
    membership = Membership.objects.filter(user=admin_user(request), tenant_id=tenant_id).first()
    return membership.role if membership else Role.VIEWER


class MembershipForm(forms.ModelForm):
    """Nobody grants a role above their own."""

    class Meta:
        model = Membership
        fields = ["tenant", "user", "role"]

    def clean(self) -> dict:
        data = super().clean() or {}
        tenant, role = (
            data.get("tenant") or getattr(self.instance, "tenant", None),
            data.get("role"),
        )
        request = getattr(self, "request", None)
        if request is not None and tenant is not None and role:
            if not Role.at_least(_own_role(request, tenant.pk), role):
                self.add_error("role", "You cannot give a role above your own.")
        return data


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipForm
    extra = 0
    autocomplete_fields = ["user"]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = type("RequestMembershipForm", (formset.form,), {"request": request})
        return formset

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = scoped(request, db_field.related_model._default_manager.all())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "status_badge", "created_at"]
    list_filter = ["plan", "status"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["slug", "name", "plan", "status"]}),
        (
            "Quota overrides (empty: the plan's value)",
            {"fields": ["max_positions_per_project", "max_jobs_per_month", "max_evidence_bytes"]},
        ),
    ]

    @admin.display(description="status", ordering="status")
    def status_badge(self, tenant: Tenant) -> str:
        return badge(tenant.status)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        tenant_ids = admin_tenant_ids(request)
        return queryset if tenant_ids is None else queryset.filter(id__in=tenant_ids)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if request.user.is_superuser:
            return []
        return ["slug", *_SUPERUSER_TENANT_FIELDS]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict:
        return self.prepopulated_fields if request.user.is_superuser else {}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class InviteForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    email = forms.EmailField(max_length=MAX_EMAIL_LENGTH)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    form = MembershipForm
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__slug"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "tenant"]
    actions = ["invite_again"]
    change_list_template = "admin/tenants/membership/change_list.html"

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:  # type: ignore[override]
        form = super().get_form(request, obj, **kwargs)
        return type("RequestMembershipForm", (form,), {"request": request})

    def get_urls(self) -> list:
        return [
            path(
                "invite/",
                self.admin_site.admin_view(self.invite_view),
                name="tenants_membership_invite",
            ),
            *super().get_urls(),
        ]

    def invite_view(self, request: HttpRequest) -> HttpResponse:
        """Invite someone by e-mail (member_invite, as the API and the command)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InviteForm(request.POST or None)
        form.fields["tenant"].queryset = admin_tenants(request)  # type: ignore[attr-defined]  # a choice field
        if request.method == "POST" and form.is_valid():
            tenant = form.cleaned_data["tenant"]
            try:
                member_invite(
                    tenant=tenant,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    inviter_role=_own_role(request, tenant.pk),
                    invited_by=admin_user(request),
                    site_url=request.build_absolute_uri("/"),
                )
            except ApiError as exc:
                messages.error(request, str(exc.detail))
            else:
                messages.success(
                    request, f"Invitation sent to {form.cleaned_data['email']} for {tenant.slug}."
                )
                return HttpResponseRedirect(reverse("admin:tenants_membership_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Invite a member",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/tenants/membership/invite.html", context)

    @admin.action(description="Send the selected members their invitation again")
    def invite_again(self, request: HttpRequest, queryset: QuerySet) -> None:
        for membership in queryset.select_related("user", "tenant"):
            email = membership.user.email or membership.user.get_username()
            try:
                member_invite(
                    tenant=membership.tenant,
                    email=email,
                    role=membership.role,
                    inviter_role=_own_role(request, membership.tenant_id),
                    invited_by=admin_user(request),
                    site_url=request.build_absolute_uri("/"),
                )
            except ApiError as exc:
                self.message_user(request, f"{email}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"Invitation sent to {email}.", messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ["name", "tenant", "prefix", "role", "created_at", "last_used_at", "state"]
    list_filter = ["role", "tenant", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "tenant__slug"]
    list_select_related = ["tenant"]
    actions = ["revoke"]
    # The hash is never shown; the key itself exists only in the message after creation.
    exclude = ["hashed_key"]

    @admin.display(description="state", ordering="revoked_at")
    def state(self, api_key: ApiKey) -> str:
        return badge("active" if api_key.revoked_at is None else "revoked")

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
        if not Role.at_least(_own_role(request, obj.tenant_id), obj.role):
            # The form checked the tenant; the role is checked here, where the key is made.
            obj.role = _own_role(request, obj.tenant_id)
            messages.warning(request, f"A key cannot carry more than your role: {obj.role}.")
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = api_key_create(
            tenant=obj.tenant, name=obj.name, role=obj.role, created_by=admin_user(request)
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
class UsageCounterAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "month", "metric", "amount"]
    list_filter = ["metric", "month", "tenant"]
    list_select_related = ["tenant"]

    @admin.display(description="value", ordering="value")
    def amount(self, counter: UsageCounter) -> str:
        return count(counter.value)


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
