"""Admin for audits: the tenant policies (editable), findings, waivers and reports (read-only;
reports have a chain check), and the audit action on projects."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from audits.models import AuditReport, Finding, Waiver
from audits.reports import report_chain_verify
from audits.start import audit_start
from core.errors import ApiError
from projects.admin import ProjectAdmin, ProjectFilter
from projects.models import Project
from tenants.admin import ReadOnlyAdmin

# The project admin with the audit action: audits is the app above projects that knows how.
admin.site.unregister(Project)


@admin.register(Project)
class AuditedProjectAdmin(ProjectAdmin):
    actions = [*ProjectAdmin.actions, "audit"]

    @admin.action(description="Audit the current version of the selected projects")
    def audit(self, request: HttpRequest, queryset: QuerySet) -> None:
        for project in queryset.select_related("tenant"):
            try:
                job = audit_start(
                    project=project, actor=request.user.get_username(), created_by=request.user
                )
            except ApiError as exc:  # archived, no budget, another import or audit running, …
                self.message_user(request, f"{project}: {exc.detail}", messages.ERROR)
                continue
            self.message_user(
                request, f"Audit job {job.id} started for {project}.", messages.SUCCESS
            )


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = [
        "line_key",
        "project",
        "version_number",
        "rule",
        "recommendation",
        "short_reasoning",
        "catalog_version",
        "source_line",
        "created_at",
    ]
    list_filter = [ProjectFilter, "recommendation", "role", "rule"]
    search_fields = ["line_key", "reasoning"]
    list_select_related = ["project", "version"]
    ordering = ["project", "version", "line_key", "rule"]
    show_full_result_count = False

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, finding: Finding) -> int:
        return finding.version.number

    @admin.display(description="Reasoning")
    def short_reasoning(self, finding: Finding) -> str:
        text = finding.reasoning
        return text if len(text) <= 80 else text[:79] + "…"


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = [
        "line_key",
        "rule",
        "project",
        "reason",
        "actor",
        "created_at",
        "withdrawn_at",
        "withdrawn_by",
    ]
    list_filter = [ProjectFilter, ("withdrawn_at", admin.EmptyFieldListFilter)]
    search_fields = ["line_key", "reason", "actor"]
    list_select_related = ["project"]


@admin.register(AuditReport)
class AuditReportAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "project",
        "version_number",
        "green_count",
        "amber_count",
        "red_count",
        "finding_count",
        "short_sha256",
        "actor",
        "created_at",
    ]
    list_filter = [ProjectFilter]
    list_select_related = ["project", "version"]
    readonly_fields = ["document_link"]
    actions = ["verify_chain"]

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, report: AuditReport) -> int:
        return report.version.number

    @admin.display(description="SHA-256")
    def short_sha256(self, report: AuditReport) -> str:
        return report.sha256[:12] + "…"

    @admin.display(description="Document")
    def document_link(self, report: AuditReport) -> str:
        url = reverse("admin:evidence_evidence_change", args=[report.document_id])
        return format_html('<a href="{}">{}</a>', url, report.document_id)

    @admin.action(description="Verify the chains of the selected reports' projects")
    def verify_chain(self, request: HttpRequest, queryset: QuerySet) -> None:
        projects = {report.project_id: report.project for report in queryset}
        for project in projects.values():
            outcome = report_chain_verify(project=project)
            if outcome.ok:
                self.message_user(
                    request,
                    f"{project}: chain intact ({outcome.reports} reports).",
                    messages.SUCCESS,
                )
                continue
            shown = "; ".join(outcome.problems[:5])
            more = f" (and {len(outcome.problems) - 5} more)" if len(outcome.problems) > 5 else ""
            self.message_user(request, f"{project}: tampered — {shown}{more}", messages.ERROR)
