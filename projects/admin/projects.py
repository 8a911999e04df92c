"""Admin for projects, their versions and positions. Every change goes through the services: a
position edit makes a version, an import starts the same job the API starts; versions and the rows
of old versions are read-only."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html

from core.errors import ApiError
from projects.admin.positions import positions_url
from projects.models import BudgetVersion, Comment, Project
from projects.services import project_archive, project_create, project_update
from projects.services.imports import budget_import_start
from tenants.admin import ReadOnlyAdmin, TenantScopedAdmin

_positions_url = positions_url


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
    readonly_fields = fields

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

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
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
            tenant=obj.tenant, name=obj.name, currency=obj.currency, created_by=request.user
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
                        created_by=request.user,
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

    @admin.display(description="Positions")
    def positions(self, version: BudgetVersion) -> str:
        return format_html(
            "<a href='{}'>browse</a>", _positions_url(version.project_id, version.number)
        )


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
