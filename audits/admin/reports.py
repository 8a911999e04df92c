"""Admin for audit findings, waivers and reports: read-only lists that link to each other and to
the positions and projects they are about; reports have a chain check."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from audits.models import AuditReport, Finding, Waiver
from audits.reports import report_chain_verify
from core.display import badge, count, json_table
from projects.admin import ProjectFilter
from tenants.admin import ReadOnlyAdmin


def _findings_url(project_id: object, version: object = None, line_key: str = "") -> str:
    url = reverse("admin:projects_project_findings", args=[project_id])
    query = [f"version={version}"] if version is not None else []
    if line_key:
        query.append(f"line_key={line_key}")
    return url + ("?" + "&".join(query) if query else "")


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = [
        "line_key",
        "project",
        "version_number",
        "rule",
        "shown_recommendation",
        "short_reasoning",
        "catalog_version",
        "source_line",
        "created_at",
    ]
    list_filter = [ProjectFilter, "recommendation", "role"]
    search_fields = ["line_key", "reasoning"]
    list_select_related = ["project", "version"]
    ordering = ["project", "version", "line_key", "rule"]
    fields = [
        "project",
        "version_number",
        "position_link",
        "line_key",
        "rule",
        "role",
        "shown_recommendation",
        "confidence",
        "reasoning",
        "suggested_fix",
        "shown_evidence",
        "catalog",
        "catalog_version",
        "source_line",
        "report",
        "waivers",
        "created_at",
    ]
    readonly_fields = fields  # type: ignore[assignment]  # the stubs' field lists are invariant

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, finding: Finding) -> int:
        return finding.version.number

    @admin.display(description="recommendation", ordering="recommendation")
    def shown_recommendation(self, finding: Finding) -> str:
        return badge(finding.recommendation)

    @admin.display(description="Reasoning")
    def short_reasoning(self, finding: Finding) -> str:
        text = finding.reasoning
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="position")
    def position_link(self, finding: Finding) -> str:
        url = reverse("admin:projects_position_change", args=[finding.position_id])
        return format_html('<a href="{}">{}</a>', url, finding.line_key)

    @admin.display(description="evidence")
    def shown_evidence(self, finding: Finding) -> str:
        return json_table(finding.evidence)

    @admin.display(description="waivers")
    def waivers(self, finding: Finding) -> str:
        url = _findings_url(finding.project_id, finding.version.number, finding.line_key)
        return format_html('<a href="{}">waive or withdraw on the findings page</a>', url)


@admin.register(Waiver)
class WaiverAdmin(ReadOnlyAdmin):
    list_display = [
        "line_key",
        "rule",
        "project",
        "reason",
        "actor",
        "created_at",
        "state",
        "withdrawn_by",
        "withdrawn_reason",
    ]
    list_filter = [ProjectFilter, ("withdrawn_at", admin.EmptyFieldListFilter)]
    search_fields = ["line_key", "reason", "actor"]
    list_select_related = ["project", "version"]
    readonly_fields = ["findings"]

    @admin.display(description="state", ordering="withdrawn_at")
    def state(self, waiver: Waiver) -> str:
        return badge("withdrawn" if waiver.withdrawn_at else "active")

    @admin.display(description="findings")
    def findings(self, waiver: Waiver) -> str:
        url = _findings_url(waiver.project_id, waiver.version.number, waiver.line_key)
        return format_html('<a href="{}">the finding and its position</a>', url)


@admin.register(AuditReport)
class AuditReportAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "project",
        "version_number",
        "greens",
        "ambers",
        "reds",
        "finding_count",
        "short_sha256",
        "actor",
        "created_at",
    ]
    list_filter = [ProjectFilter]
    list_select_related = ["project", "version"]
    readonly_fields = ["document_link", "findings_link"]
    actions = ["verify_chain"]

    @admin.display(description="Version", ordering="version__number")
    def version_number(self, report: AuditReport) -> int:
        return report.version.number

    @admin.display(description="green", ordering="green_count")
    def greens(self, report: AuditReport) -> str:
        return count(report.green_count)

    @admin.display(description="amber", ordering="amber_count")
    def ambers(self, report: AuditReport) -> str:
        return count(report.amber_count)

    @admin.display(description="red", ordering="red_count")
    def reds(self, report: AuditReport) -> str:
        return count(report.red_count)

    @admin.display(description="SHA-256")
    def short_sha256(self, report: AuditReport) -> str:
        return report.sha256[:12] + "…"

    @admin.display(description="Document")
    def document_link(self, report: AuditReport) -> str:
        url = reverse("admin:evidence_evidence_change", args=[report.document_id])
        download = reverse("admin:evidence_evidence_download", args=[report.document_id])
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">download</a>', url, report.document_id, download
        )

    @admin.display(description="Findings")
    def findings_link(self, report: AuditReport) -> str:
        url = _findings_url(report.project_id, report.version.number)
        return format_html('<a href="{}">findings of version {}</a>', url, report.version.number)

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
