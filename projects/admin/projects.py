"""Admin for projects, their versions and comments. A project's page is where its budget is
worked on: its versions (positions, diff between any two, reconciliation, revert, export), its
jobs (live), documents and comments thread; audits/admin adds the audit and the findings. Every
change goes through the services the API uses."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.display import badge, count, money, signed_money
from core.errors import ApiError
from evidence.models import Evidence
from jobs.admin import job_started_message
from jobs.models import Job
from projects import selectors
from projects.admin import pages
from projects.admin.positions import positions_url
from projects.models import BudgetVersion, Comment, Project
from projects.services import project_archive, project_create, project_update
from projects.services.imports import budget_import_start
from tenants.admin import ReadOnlyAdmin, TenantScopedAdmin, admin_user

PAGE_JOBS = 10
PAGE_COMMENTS = 50
PAGE_DOCUMENTS = 20


@admin.register(Project)
class ProjectAdmin(TenantScopedAdmin):
    list_display = [
        "name",
        "tenant",
        "shown_status",
        "version_number",
        "positions_shown",
        "total",
        "reds",
        "updated_at",
    ]
    list_filter = ["status", "tenant"]
    search_fields = ["name", "tenant__slug"]
    list_select_related = ["tenant", "current_version"]
    # audits/admin adds "audit" (an app above this one).
    actions = ["import_budget_file", "archive"]
    change_form_template = "admin/projects/project/change_form.html"
    readonly_fields = [
        "shown_status",
        "current_version",
        "positions",
        "positions_shown",
        "total",
        "audit_counts",
        "created_by",
        "created_at",
        "updated_at",
        "deleted_at",
    ]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:  # type: ignore[override]  # names, not groups
        if obj is None:
            return ["tenant", "name", "currency"]
        return ["tenant", "name", "currency", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else ["tenant", *self.readonly_fields]

    @admin.display(description="status", ordering="status")
    def shown_status(self, project: Project) -> str:
        return badge(project.status)

    @admin.display(description="Version", ordering="current_version__number")
    def version_number(self, project: Project) -> int | None:
        return project.current_version.number if project.current_version else None

    @admin.display(description="positions", ordering="position_count")
    def positions_shown(self, project: Project) -> str:
        return count(project.position_count)

    @admin.display(description="total cost", ordering="total_cost")
    def total(self, project: Project) -> str:
        return money(project.total_cost, project.currency)

    @admin.display(description="red", ordering="red_count")
    def reds(self, project: Project) -> str:
        return count(project.red_count)

    @admin.display(description="audit")
    def audit_counts(self, project: Project) -> str:
        return format_html(
            "{} {} {}",
            badge("green", f"{project.green_count} green"),
            badge("amber", f"{project.amber_count} amber"),
            badge("red", f"{project.red_count} red"),
        )

    @admin.display(description="Positions of the current version")
    def positions(self, project: Project) -> str:
        return format_html("<a href='{}'>browse</a>", positions_url(project.pk))

    def save_model(self, request: HttpRequest, obj: Project, form: Any, change: bool) -> None:
        if change:
            project_update(
                project=obj, **{name: form.cleaned_data[name] for name in form.changed_data}
            )
            return
        created = project_create(
            tenant=obj.tenant, name=obj.name, currency=obj.currency, created_by=admin_user(request)
        )
        obj.pk = obj.id = created.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # projects are archived, not deleted

    # The project's page --------------------------------------------------------------------
    def get_urls(self) -> list:
        def view(handler: Any, name: str, route: str) -> Any:
            def wrapped(request: HttpRequest, project_id: Any, **kwargs: Any) -> HttpResponse:
                return handler(request, self.project_or_404(request, project_id), **kwargs)

            return path(
                f"<uuid:project_id>/{route}",
                self.admin_site.admin_view(wrapped),
                name=f"projects_project_{name}",
            )

        return [
            view(lambda r, p: pages.import_view(self, r, p), "import", "import/"),
            view(lambda r, p: pages.diff_view(self, r, p), "diff", "diff/"),
            view(pages.export_view, "export", "export/"),
            view(pages.comment_view, "comment", "comments/"),
            view(pages.revert_view, "revert", "versions/<int:number>/revert/"),
            view(
                lambda r, p, number: pages.reconciliation_view(self, r, p, number),
                "reconciliation",
                "versions/<int:number>/reconciliation/",
            ),
            *self.extra_project_urls(view),
            *super().get_urls(),
        ]

    def extra_project_urls(self, view: Any) -> list:
        """Pages of the apps above this one (audits): `view(handler, name, route)` each."""
        return []

    def project_or_404(self, request: HttpRequest, project_id: Any) -> Project:
        project = self.get_queryset(request).filter(pk=project_id).first()
        if project is None:
            raise Http404("No such project.")
        return project

    def project_panels(self, request: HttpRequest, project: Project) -> list[dict[str, Any]]:
        """Sections of the project's page added by the apps above this one: `{"template",
        **context}` each."""
        return []

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        project = self.get_object(request, object_id)
        extra: dict[str, Any] = {}
        if project is not None:
            versions = list(selectors.version_list(tenant=project.tenant, project=project))
            extra = {
                "project": project,
                "versions": versions,
                "export_formats": pages.EXPORT_FORMATS,
                "jobs": list(
                    Job.objects.for_tenant(project.tenant)
                    .filter(project=project)
                    .select_related("tenant")
                    .order_by("-created_at")[:PAGE_JOBS]
                ),
                "comments": list(
                    selectors.comment_list(tenant=project.tenant, project=project)[:PAGE_COMMENTS]
                ),
                "comment_form": pages.CommentForm(),
                "documents": list(
                    Evidence.objects.for_tenant(project.tenant)
                    .filter(project=project)
                    .defer("text")
                    .order_by("-created_at")[:PAGE_DOCUMENTS]
                ),
                "panels": self.project_panels(request, project),
            }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    # Actions ---------------------------------------------------------------------------------
    @admin.action(description="Archive selected projects")
    def archive(self, request: HttpRequest, queryset: QuerySet) -> None:
        for project in queryset:
            project_archive(project=project)
        self.message_user(request, "Archived.", messages.SUCCESS)

    @admin.action(description="Import a budget file into the selected project")
    def import_budget_file(self, request: HttpRequest, queryset: QuerySet) -> Any:
        projects = list(queryset[:2])
        if len(projects) != 1:
            self.message_user(request, "Select exactly one project.", messages.ERROR)
            return None
        project = projects[0]
        form = pages.ImportForm()
        if "apply" in request.POST:
            form = pages.ImportForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                try:
                    job = budget_import_start(
                        project=project,
                        actor=request.user.get_username(),
                        file=upload,
                        filename=upload.name,
                        created_by=admin_user(request),
                    )
                except ApiError as exc:  # archived, another import or audit, the job quota
                    self.message_user(request, f"{project}: {exc.detail}", messages.ERROR)
                    return None
                job_started_message(request, job, f"Import of {upload.name} into {project}")
                return None
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
        "delta",
        "total",
        "created_at",
        "links",
    ]
    list_filter = ["trigger"]
    search_fields = ["project__name", "source_name", "summary"]
    list_select_related = ["project"]
    readonly_fields = [
        "project_link",
        "job_link",
        "links",
        "delta",
        "total",
        "reconciliation_table",
    ]
    exclude = ["project", "job", "delta_cost", "total_cost", "reconciliation"]

    @admin.display(description="Reconciliation with the file's declared totals")
    def reconciliation_table(self, version: BudgetVersion) -> str:
        rows = version.reconciliation or []
        if not rows:
            return "–"
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
                        row.get("computed") if row.get("computed") is not None else "–",
                        row.get("difference"),
                        "ok" if row.get("ok", True) else "MISMATCH",
                    )
                    for row in rows
                ),
            ),
        )

    @admin.display(description="delta cost", ordering="delta_cost")
    def delta(self, version: BudgetVersion) -> str:
        return signed_money(version.delta_cost, version.project.currency)

    @admin.display(description="total cost", ordering="total_cost")
    def total(self, version: BudgetVersion) -> str:
        return money(version.total_cost, version.project.currency)

    @admin.display(description="project")
    def project_link(self, version: BudgetVersion) -> str:
        url = reverse("admin:projects_project_change", args=[version.project_id])
        return format_html('<a href="{}">{}</a>', url, version.project)

    @admin.display(description="made by job")
    def job_link(self, version: BudgetVersion) -> str:
        if version.job_id is None:
            return "–"
        url = reverse("admin:jobs_job_change", args=[version.job_id])
        return format_html('<a href="{}">{}</a>', url, version.job_id)

    @admin.display(description="")
    def links(self, version: BudgetVersion) -> str:
        diff = reverse("admin:projects_project_diff", args=[version.project_id])
        reconciliation = reverse(
            "admin:projects_project_reconciliation", args=[version.project_id, version.number]
        )
        previous = max(version.number - 1, 1)
        return format_html(
            '<a href="{}">positions</a> · <a href="{}?from={}&amp;to={}">diff</a> · '
            '<a href="{}">reconciliation</a>',
            positions_url(version.project_id, version.number),
            diff,
            previous,
            version.number,
            reconciliation,
        )


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["project", "actor", "short_body", "created_at"]
    search_fields = ["body", "project__name", "actor"]
    list_select_related = ["project"]

    @admin.display(description="Comment")
    def short_body(self, comment: Comment) -> str:
        return comment.body if len(comment.body) <= 80 else comment.body[:79] + "…"
