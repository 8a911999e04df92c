"""What audits adds to a project's admin page (audits sits above projects, so it registers the
project admin again): running an audit of a chosen version against a chosen catalog edition, the
findings per position with waive and withdraw, documents attached to findings, and the reports
with their chain check. Everything through the services the API uses."""

import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from audits import selectors
from audits.attachments import attachment_create
from audits.models import Finding, Recommendation
from audits.reports import report_chain_verify
from audits.services import finding_waive, waiver_withdraw
from audits.start import DEFAULT_CATALOG, audit_start
from catalogs.models import PriceCatalog
from core.errors import ApiError
from evidence.models import Evidence
from jobs.admin import job_started_message
from projects.admin import ProjectAdmin
from projects.models import BudgetVersion, Project
from projects.selectors import version_get
from tenants.admin import admin_user

FINDINGS_PAGE = 50
NO_CATALOG = "none"

# The project admin with the audit: audits is the app above projects that knows how.
admin.site.unregister(Project)


class AuditForm(forms.Form):
    version = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    catalog = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        numbers = BudgetVersion.objects.filter(project=project).values_list("number", flat=True)
        self.fields["version"].choices = [("", "the current version")] + [  # type: ignore[attr-defined]  # a choice field
            (n, f"version {n}") for n in numbers
        ]
        catalogs = PriceCatalog.objects.for_tenant(project.tenant).filter(version__gte=1)
        self.fields["catalog"].choices = [  # type: ignore[attr-defined]  # a choice field
            (DEFAULT_CATALOG, "the tenant's newest catalog"),
            *((str(c.pk), f"{c.name} (edition {c.version})") for c in catalogs.order_by("name")),
            (NO_CATALOG, "no catalog (arithmetic and validation only)"),
        ]


def _finding_or_none(project: Project, finding_id: Any) -> Finding | None:
    return (
        Finding.objects.for_tenant(project.tenant)
        .filter(project=project, pk=finding_id)
        .select_related("project", "version")
        .first()
    )


@admin.register(Project)
class AuditedProjectAdmin(ProjectAdmin):
    actions = [*ProjectAdmin.actions, "audit"]

    @admin.action(description="Audit the current version of the selected projects")
    def audit(self, request: HttpRequest, queryset: QuerySet) -> None:
        for project in queryset.select_related("tenant"):
            try:
                job = audit_start(
                    project=project,
                    actor=request.user.get_username(),
                    created_by=admin_user(request),
                )
            except ApiError as exc:  # archived, no budget, another import or audit running, …
                self.message_user(request, f"{project}: {exc.detail}", messages.ERROR)
                continue
            job_started_message(request, job, f"Audit of {project}")

    def extra_project_urls(self, view: Any) -> list:
        return [
            view(self.audit_view, "audit", "audit/"),
            view(self.findings_view, "findings", "findings/"),
            view(self.waive_view, "waive", "findings/<uuid:finding_id>/waive/"),
            view(self.attach_view, "attach", "findings/<uuid:finding_id>/attach/"),
            view(self.withdraw_view, "withdraw", "waivers/<uuid:waiver_id>/withdraw/"),
            view(self.verify_view, "verify_reports", "reports/verify/"),
        ]

    def project_panels(self, request: HttpRequest, project: Project) -> list[dict[str, Any]]:
        reports = list(selectors.report_list(tenant=project.tenant, project=project)[:5])
        return [
            *super().project_panels(request, project),
            {
                "template": "admin/audits/project_panel.html",
                "audit_form": AuditForm(project=project),
                "reports": reports,
            },
        ]

    def audit_view(self, request: HttpRequest, project: Project) -> HttpResponse:
        form = AuditForm(request.POST or None, project=project)
        if request.method == "POST" and form.is_valid():
            catalog = form.cleaned_data["catalog"] or DEFAULT_CATALOG
            try:
                job = audit_start(
                    project=project,
                    actor=request.user.get_username(),
                    version=form.cleaned_data["version"],
                    catalog=None if catalog == NO_CATALOG else catalog,
                    created_by=admin_user(request),
                )
            except ApiError as exc:
                messages.error(request, f"{project}: {exc.detail}")
            else:
                job_started_message(request, job, f"Audit of {project}")
                return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))
        elif request.method == "POST":
            messages.error(request, f"Choose a version and a catalog: {form.errors.as_text()}")
        return HttpResponseRedirect(self._project_url(project))

    def findings_view(self, request: HttpRequest, project: Project) -> HttpResponse:
        versions = list(
            BudgetVersion.objects.filter(project=project)
            .order_by("-number")
            .values_list("number", flat=True)
        )
        number = request.GET.get("version", "")
        if not number.isdigit():
            number = str(project.current_version.number) if project.current_version else ""
        status = request.GET.get("status", "")
        line_key = request.GET.get("line_key", "")[:512]
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": f"Findings of {project}",
            "project": project,
            "opts": self.model._meta,
            "versions": versions,
            "statuses": Recommendation.values,
            "status": status,
            "line_key": line_key,
            "number": number,
        }
        if number:
            try:
                version = version_get(tenant=project.tenant, project=project, number=int(number))
            except ApiError as exc:
                messages.error(request, str(exc.detail))
                return HttpResponseRedirect(self._project_url(project))
            findings = (
                selectors.finding_list(
                    tenant=project.tenant,
                    project=project,
                    version=version,
                    status=status if status in Recommendation.values else None,
                    line_key=line_key or None,
                )
                .select_related("position")
                .order_by("position__ordinal", "line_key", "rule")
            )
            paginator = Paginator(findings, FINDINGS_PAGE)
            page = paginator.get_page(request.GET.get("page"))
            query = request.GET.copy()
            query.pop("page", None)
            context.update(
                version=version,
                page=page,
                query=query.urlencode(),
                documents=list(
                    Evidence.objects.for_tenant(project.tenant)
                    .filter(project=project)
                    .only("id", "name")
                    .order_by("-created_at")[:50]
                ),
                waivers=list(
                    selectors.waiver_list(
                        tenant=project.tenant, project=project, version=version
                    ).order_by("-created_at")[:50]
                ),
            )
        return TemplateResponse(request, "admin/audits/findings.html", context)

    def waive_view(self, request: HttpRequest, project: Project, finding_id: Any) -> HttpResponse:
        finding = _finding_or_none(project, finding_id)
        if request.method == "POST" and finding is not None:
            try:
                finding_waive(
                    finding=finding,
                    reason=request.POST.get("reason", ""),
                    created_by=admin_user(request),
                    actor=request.user.get_username(),
                )
            except ApiError as exc:
                messages.error(request, str(exc.detail))
            else:
                messages.success(request, f"Waived {finding.rule} on position {finding.line_key}.")
        return self._back_to_findings(request, project)

    def withdraw_view(self, request: HttpRequest, project: Project, waiver_id: Any) -> HttpResponse:
        if request.method == "POST":
            try:
                waiver = selectors.waiver_get(
                    tenant=project.tenant, project=project, waiver_id=waiver_id
                )
                waiver_withdraw(
                    waiver=waiver,
                    reason=request.POST.get("reason", ""),
                    by=request.user.get_username(),
                )
            except ApiError as exc:
                messages.error(request, str(exc.detail))
            else:
                messages.success(
                    request, f"Withdrew the waiver of {waiver.rule} on position {waiver.line_key}."
                )
        return self._back_to_findings(request, project)

    def attach_view(self, request: HttpRequest, project: Project, finding_id: Any) -> HttpResponse:
        finding = _finding_or_none(project, finding_id)
        try:
            evidence_id = uuid.UUID(request.POST.get("evidence", ""))
        except ValueError:
            evidence_id = None
        evidence = (
            Evidence.objects.for_tenant(project.tenant).filter(pk=evidence_id).first()
            if request.method == "POST" and evidence_id is not None
            else None
        )
        if finding is None or evidence is None:
            messages.error(request, "Choose one of the project's documents.")
        else:
            try:
                attachment_create(
                    evidence=evidence,
                    project=project,
                    finding=finding,
                    created_by=admin_user(request),
                    actor=request.user.get_username(),
                )
            except ApiError as exc:
                messages.error(request, str(exc.detail))
            else:
                messages.success(request, f"Attached {evidence.name} to {finding.rule}.")
        return self._back_to_findings(request, project)

    def verify_view(self, request: HttpRequest, project: Project) -> HttpResponse:
        if request.method == "POST":
            outcome = report_chain_verify(project=project)
            if outcome.ok:
                messages.success(request, f"Chain intact ({outcome.reports} reports).")
            else:
                messages.error(request, "Tampered: " + "; ".join(outcome.problems[:5]))
        return HttpResponseRedirect(self._project_url(project) + "#audits")

    def _project_url(self, project: Project) -> str:
        return reverse("admin:projects_project_change", args=[project.pk])

    def _back_to_findings(self, request: HttpRequest, project: Project) -> HttpResponse:
        url = reverse("admin:projects_project_findings", args=[project.pk])
        back = request.POST.get("next", "")
        return HttpResponseRedirect(url + (back if back.startswith("?") else ""))
