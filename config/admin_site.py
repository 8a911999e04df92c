"""Kalkula's admin site: the index is a dashboard of the staff user's tenants (projects, running
and failed jobs, open alerts, recent imports and audits), and the operations pages (a selftest,
a legacy migration) hang off it. Wiring only: each app owns its pages; this composes them."""

from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path

from audits.models import AuditReport
from catalogs.models import Alert
from jobs.models import Job
from projects.models import BudgetVersion, Project
from tenants.models import Tenant

DASHBOARD_TENANTS = 10
RECENT = 5


@dataclass
class TenantDashboard:
    tenant: Tenant
    project_count: int = 0
    projects: list[Project] = field(default_factory=list)
    active_jobs: list[Job] = field(default_factory=list)
    failed_jobs: list[Job] = field(default_factory=list)
    open_alerts: int = 0
    imports: list[BudgetVersion] = field(default_factory=list)
    audits: list[AuditReport] = field(default_factory=list)


def tenant_dashboard(tenant: Tenant) -> TenantDashboard:
    """What a staff user sees of one tenant on the admin index: a few bounded queries."""
    projects = Project.objects.for_tenant(tenant).exclude(status=Project.Status.ARCHIVED)
    jobs = Job.objects.for_tenant(tenant).select_related("project")
    return TenantDashboard(
        tenant=tenant,
        project_count=projects.count(),
        projects=list(projects.select_related("current_version").order_by("-updated_at")[:RECENT]),
        active_jobs=list(
            jobs.select_related("tenant").filter(status__in=Job.ACTIVE).order_by("-created_at")[:10]
        ),
        failed_jobs=list(jobs.filter(status=Job.Status.FAILED).order_by("-created_at")[:RECENT]),
        open_alerts=Alert.objects.for_tenant(tenant).filter(acknowledged_at__isnull=True).count(),
        imports=list(
            BudgetVersion.objects.for_tenant(tenant)
            .filter(trigger__in=[BudgetVersion.Trigger.IMPORT, BudgetVersion.Trigger.LEGACY])
            .select_related("project")
            .order_by("-created_at")[:RECENT]
        ),
        audits=list(
            AuditReport.objects.for_tenant(tenant)
            .select_related("project", "version")
            .order_by("-created_at")[:RECENT]
        ),
    )


class KalkulaAdminSite(admin.AdminSite):
    site_header = "Kalkula"
    site_title = "Kalkula admin"
    index_title = "Dashboard"
    # "View site": the signed-in home page (tenants, the API and its documentation).
    site_url = "/"
    index_template = "admin/kalkula_index.html"

    # The apps' admin modules register their ModelAdmins on this site when imported: they are
    # imported here only once the site exists (Django creates it before autodiscovery).

    def index(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        from tenants.admin import admin_tenants

        # A page of the staff user's tenants at a time (a superuser sees every tenant), found by
        # slug or name: each tenant's panel costs a few queries.
        search = request.GET.get("q", "").strip()[:100]
        tenants = admin_tenants(request).order_by("slug")
        if search:
            tenants = tenants.filter(Q(slug__icontains=search) | Q(name__icontains=search))
        page = Paginator(tenants, DASHBOARD_TENANTS).get_page(request.GET.get("page"))
        context = {
            "dashboards": [tenant_dashboard(tenant) for tenant in page],
            "tenant_page": page,
            "tenant_search": search,
            **(extra_context or {}),
        }
        return super().index(request, context)

    def get_urls(self) -> list:
        from legacy.admin import legacy_import_view

        return [
            path(
                "operations/legacy-import/",
                self.admin_view(legacy_import_view),
                name="legacy_import",
            ),
            *super().get_urls(),
        ]

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["kalkula_can_migrate"] = request.user.is_active and request.user.is_superuser
        return context
