"""Admin for projects, their versions and positions. Every change goes through the services: a
position edit makes a version, an import starts the same job the API starts; versions and the rows
of old versions are read-only."""

import uuid

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.db.models.functions import Substr
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.errors import ApiError
from projects.models import BudgetVersion, Comment, Position, Project
from projects.selectors import valid_in
from projects.services import position_edit, project_archive, project_create, project_update
from projects.services.imports import budget_import_start
from projects.services.versions import EDITABLE_FIELDS
from tenants.admin import ReadOnlyAdmin, TenantScopedAdmin, admin_tenant_ids, admin_user

CODE_GROUP_LENGTH = 3  # ÚRS/KROS codes start with their work class: 131… excavation, 274… footings
FILTER_CHOICES_LIMIT = 200


def _positions_url(project_id: object, version: object = None) -> str:
    url = reverse("admin:projects_position_changelist") + f"?project={project_id}"
    return url + (f"&version={version}" if version is not None else "")


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV, XLSX (plain or the KROS export) or UNIXML 1.2.")


class BudgetVersionInline(admin.TabularInline):
    model = BudgetVersion
    fk_name = "project"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        "number",
        "trigger",
        "actor",
        "source_name",
        "added_count",
        "removed_count",
        "modified_count",
        "delta_cost",
        "position_count",
        "total_cost",
        "created_at",
        "positions",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # the stubs' field lists are invariant

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="Positions")
    def positions(self, version: BudgetVersion) -> str:
        return format_html(
            '<a href="{}">browse</a>', _positions_url(version.project_id, version.number)
        )


@admin.register(Project)
class ProjectAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "tenant",
        "status",
        "version_number",
        "position_count",
        "total_cost",
        "red_count",
        "updated_at",
    ]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "tenant__slug"]
    list_select_related = ["tenant", "current_version"]
    inlines = [BudgetVersionInline]
    # audits/admin.py adds "audit" (an app above this one).
    actions = ["import_budget_file", "archive"]
    readonly_fields = [
        "status",
        "current_version",
        "positions",
        "position_count",
        "total_cost",
        "green_count",
        "amber_count",
        "red_count",
        "created_by",
        "created_at",
        "updated_at",
        "deleted_at",
    ]

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:  # type: ignore[override]  # names are field groups
        if obj is None:
            return ["tenant", "name", "currency"]
        return ["tenant", "name", "currency", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [] if obj is None else ["tenant", *self.readonly_fields]

    @admin.display(description="Version", ordering="current_version__number")
    def version_number(self, project: Project) -> int | None:
        return project.current_version.number if project.current_version else None

    @admin.display(description="Positions of the current version")
    def positions(self, project: Project) -> str:
        return format_html("<a href='{}'>browse</a>", _positions_url(project.pk))

    def save_model(self, request: HttpRequest, obj: Project, form, change: bool) -> None:
        if change:
            project_update(
                project=obj, **{name: form.cleaned_data[name] for name in form.changed_data}
            )
            return
        created = project_create(
            tenant=obj.tenant, name=obj.name, currency=obj.currency, created_by=admin_user(request)
        )
        obj.pk = obj.id = created.pk

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # projects are archived, not deleted

    @admin.action(description="Archive selected projects")
    def archive(self, request: HttpRequest, queryset: QuerySet) -> None:
        for project in queryset:
            project_archive(project=project)
        self.message_user(request, "Archived.", messages.SUCCESS)

    @admin.action(description="Import a budget file into the selected project")
    def import_budget_file(self, request: HttpRequest, queryset: QuerySet):
        projects = list(queryset[:2])
        if len(projects) != 1:
            self.message_user(request, "Select exactly one project.", messages.ERROR)
            return None
        project = projects[0]
        form = ImportForm()
        if "apply" in request.POST:
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid() and not project.is_archived:
                upload = form.cleaned_data["file"]
                try:
                    job = budget_import_start(
                        project=project,
                        actor=request.user.get_username(),
                        file=upload,
                        filename=upload.name,
                        created_by=admin_user(request),
                    )
                except ApiError as exc:  # another import or audit running, the monthly quota
                    self.message_user(request, f"{project}: {exc.detail}", messages.ERROR)
                    return None
                self.message_user(
                    request,
                    f"Import job {job.id} started for {project}: version "
                    "numbers and totals update when it finishes.",
                    messages.SUCCESS,
                )
                return None
            if project.is_archived:
                form.add_error(None, "The project is archived: it cannot change.")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import a budget into {project}",
            "explanation": f"The file becomes the next version of {project} when the import job "
            "finishes. A file with errors makes no version; the job lists the problems.",
            "target": project,
            "action": "import_budget_file",
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/projects/import_file.html", context)


@admin.register(BudgetVersion)
class BudgetVersionAdmin(ReadOnlyAdmin):
    """Versions are immutable: every field is read-only."""

    list_display = [
        "project",
        "number",
        "trigger",
        "actor",
        "added_count",
        "removed_count",
        "modified_count",
        "delta_cost",
        "total_cost",
        "created_at",
        "positions",
    ]
    list_filter = ["trigger"]
    search_fields = ["project__name", "source_name", "summary"]
    list_select_related = ["project"]
    exclude = ["reconciliation"]
    readonly_fields = ["reconciliation_table"]

    @admin.display(description="Reconciliation with the file's declared totals")
    def reconciliation_table(self, version: BudgetVersion) -> str:
        rows = version.reconciliation or []
        if not rows:
            return "—"
        return format_html(
            "<table><thead><tr><th>Object</th><th>Part</th><th>Declared</th><th>Computed</th>"
            "<th>Difference</th><th></th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        row.get("object") or "(all)",
                        row.get("part") or "(all)",
                        row.get("declared"),
                        row.get("computed") if row.get("computed") is not None else "—",
                        row.get("difference"),
                        "ok" if row.get("ok", True) else "MISMATCH",
                    )
                    for row in rows
                ),
            ),
        )

    @admin.display(description="Positions")
    def positions(self, version: BudgetVersion) -> str:
        return format_html(
            "<a href='{}'>browse</a>", _positions_url(version.project_id, version.number)
        )


def _selected_project(request: HttpRequest) -> uuid.UUID | None:
    return _project_id(request.GET.get("project"))


def _project_id(value: str | None) -> uuid.UUID | None:
    """The project a list is filtered by, if any. A malformed id is a bad lookup, which the admin
    answers as it does for its own filters (back to the list, `?e=1`), not a server error."""
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise IncorrectLookupParameters(f"project: {value!r} is not an id") from None


class ProjectFilter(admin.SimpleListFilter):
    title = "project"
    parameter_name = "project"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        projects = Project.objects.all()
        tenant_ids = admin_tenant_ids(request)
        if tenant_ids is not None:
            projects = projects.filter(tenant_id__in=tenant_ids)
        selected = _selected_project(request)
        recent = list(projects.exclude(pk=selected)[:20]) if selected else list(projects[:20])
        chosen = list(projects.filter(pk=selected)) if selected else []
        return [(str(p.pk), str(p)) for p in [*chosen, *recent]]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        project = _project_id(self.value())
        return queryset.filter(project=project) if project else queryset


class VersionFilter(admin.SimpleListFilter):
    """The rows of one version; the current version unless told otherwise."""

    title = "version"
    parameter_name = "version"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        options = [("all", "All versions' rows")]
        project = _selected_project(request)
        if project:
            numbers = BudgetVersion.objects.filter(project=project).values_list("number", flat=True)
            options += [(str(n), f"Version {n}") for n in numbers[:FILTER_CHOICES_LIMIT]]
        return options

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Current",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset.filter(valid_to__isnull=True)
        if value == "all":
            return queryset
        try:
            number = int(value)
        except ValueError:
            raise IncorrectLookupParameters(f"version: {value!r} is not a number") from None
        return queryset.filter(valid_in(number))


class SectionFilter(admin.SimpleListFilter):
    title = "section"
    parameter_name = "section"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        project = _selected_project(request)
        if not project:
            return []
        sections = (
            Position.objects.filter(project=project)
            .exclude(section="")
            .order_by("section")
            .values_list("section", flat=True)
            .distinct()[:FILTER_CHOICES_LIMIT]
        )
        return [(s, s) for s in sections]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(section=self.value()) if self.value() else queryset


class CodeGroupFilter(admin.SimpleListFilter):
    title = "code group"
    parameter_name = "code"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        project = _selected_project(request)
        if not project:
            return []
        groups = (
            Position.objects.filter(project=project)
            .exclude(code="")
            .annotate(group=Substr("code", 1, CODE_GROUP_LENGTH))
            .order_by("group")
            .values_list("group", flat=True)
            .distinct()[:FILTER_CHOICES_LIMIT]
        )
        return [(g, f"{g}…") for g in groups]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(code__startswith=self.value()) if self.value() else queryset


@admin.register(Position)
class PositionAdmin(TenantScopedAdmin):
    """Rows of the current version are edited through `position_edit` (a new version); rows of
    old versions are read-only."""

    list_display = [
        "line_key",
        "project",
        "section",
        "code",
        "short_description",
        "quantity",
        "unit",
        "unit_price",
        "total_price",
        "kind",
        "audit_status",
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
    fields = [
        "project",
        "line_key",
        "section",
        "position_number",
        "kind",
        *EDITABLE_FIELDS,
        "price_system",
        "material_unit_price",
        "assembly_unit_price",
        "long_text",
        "takeoff",
        "audit_status",
        "source_line",
        "valid_from",
        "valid_to",
    ]

    @admin.display(description="Description")
    def short_description(self, position: Position) -> str:
        text = position.description
        return text if len(text) <= 80 else text[:79] + "…"

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # This admin's fields are names, not the groups the stubs allow for.
        if obj is not None and obj.is_current:
            return [name for name in self.fields if name not in EDITABLE_FIELDS]  # type: ignore[misc]
        return list(self.fields)  # type: ignore[arg-type]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Position, form, change: bool) -> None:
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


@admin.register(Comment)
class CommentAdmin(TenantScopedAdmin):
    list_display = ["project", "actor", "short_body", "created_at"]
    search_fields = ["body", "project__name", "actor"]
    list_select_related = ["project"]
    readonly_fields = [
        "tenant",
        "project",
        "body",
        "line_keys",
        "created_by",
        "actor",
        "created_at",
    ]

    @admin.display(description="Comment")
    def short_body(self, comment: Comment) -> str:
        return comment.body if len(comment.body) <= 80 else comment.body[:79] + "…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
