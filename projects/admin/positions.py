"""Positions in the admin: a project's rows of any version, filtered cheaply enough for budgets of
100,000 positions (bounded queries whatever the page size, no COUNT over the whole table, facet
counts in one GROUP BY per filter). Rows of the current version are edited through
`position_edit` (a new version); rows of old versions are read-only."""

from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from core.display import badge, money, quantity
from projects.admin.filters import (
    CodeGroupFilter,
    ProjectFilter,
    SectionFilter,
    VersionFilter,
    selected_project,
)
from projects.models import BudgetVersion, Position
from projects.services import position_edit
from projects.services.versions import EDITABLE_FIELDS
from tenants.admin import KnownCountPaginator, TenantScopedAdmin, admin_user

# Parameters that leave the count of a listing equal to a version's cached position count.
_COUNT_NEUTRAL = {"project", "version", "o", "p", "_facets", "e", "all"}


def positions_url(project_id: object, version: object = None) -> str:
    url = reverse("admin:projects_position_changelist") + f"?project={project_id}"
    return url + (f"&version={version}" if version is not None else "")


@admin.register(Position)
class PositionAdmin(TenantScopedAdmin):
    list_display = [
        "line_key",
        "project",
        "section",
        "code",
        "short_description",
        "shown_quantity",
        "unit",
        "shown_unit_price",
        "shown_total_price",
        "kind",
        "status",
        "valid_from",
        "valid_to",
    ]
    list_filter = [
        ProjectFilter,
        VersionFilter,
        "audit_status",
        "kind",
        SectionFilter,
        CodeGroupFilter,
    ]
    search_fields = ["line_key", "code", "description"]
    list_select_related = ["project"]
    ordering = ["project", "ordinal", "valid_from"]
    show_full_result_count = False
    fields = [
        "project",
        "line_key",
        "section",
        "position_number",
        *EDITABLE_FIELDS,
        "kind",
        "price_system",
        "material_unit_price",
        "assembly_unit_price",
        "long_text",
        "takeoff",
        "audit_status",
        "source_line",
        "valid_from",
        "valid_to",
        "findings",
    ]

    @admin.display(description="Description")
    def short_description(self, position: Position) -> str:
        text = position.description
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="quantity", ordering="quantity")
    def shown_quantity(self, position: Position) -> str:
        return quantity(position.quantity)

    @admin.display(description="unit price", ordering="unit_price")
    def shown_unit_price(self, position: Position) -> str:
        return money(position.unit_price, position.project.currency)

    @admin.display(description="total", ordering="total_price")
    def shown_total_price(self, position: Position) -> str:
        return money(position.total_price, position.project.currency)

    @admin.display(description="audit", ordering="audit_status")
    def status(self, position: Position) -> str:
        return badge(position.audit_status)

    @admin.display(description="Findings")
    def findings(self, position: Position) -> str:
        url = reverse("admin:projects_project_findings", args=[position.project_id])
        version = "" if position.is_current else f"version={position.valid_from}&"
        return format_html(
            '<a href="{}?{}line_key={}">findings of position {}</a>',
            url,
            version,
            position.line_key,
            position.line_key,
        )

    def get_paginator(  # type: ignore[override]
        self, request: HttpRequest, queryset: Any, per_page: int, **kwargs: Any
    ) -> Paginator:
        """A project's whole current (or one) version: its count is cached on the project (or
        the version) by the services that write it, so the list does not count the rows."""
        project = selected_project(request)
        if project is not None and set(request.GET) <= _COUNT_NEUTRAL:
            version = request.GET.get("version")
            known = None
            if version is None:
                known = project.position_count
            elif version.isdigit():
                known = (
                    BudgetVersion.objects.filter(project=project, number=int(version))
                    .values_list("position_count", flat=True)
                    .first()
                )
            if known is not None:
                return KnownCountPaginator(queryset, per_page, known_count=known, **kwargs)
        return super().get_paginator(request, queryset, per_page, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and obj.is_current and not obj.project.is_archived:
            return [name for name in self.fields if name not in EDITABLE_FIELDS]  # type: ignore[misc]  # names, not groups
        return list(self.fields)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Position, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        position, version = position_edit(
            project=obj.project,
            position_id=obj.pk,
            changes=changes,
            created_by=admin_user(request),
            actor=request.user.get_username(),
        )
        # The admin goes on with `obj`: point it at the row that replaced the edited one.
        obj.pk = obj.id = position.pk
        if version is not None:
            self.message_user(request, f"Version {version.number} created.", messages.SUCCESS)
