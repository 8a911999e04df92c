import uuid

from django.core.management.base import BaseCommand, CommandError

from audits.models import AuditReport
from audits.reports import report_chain_verify
from projects.models import Project
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Verify the chains of audit reports: stored documents against their hashes, the links "
        "between reports, and each project's newest report against its findings, its positions' "
        "statuses and its counts. Exits non-zero when anything was tampered with."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Only this tenant's projects (its slug).")
        parser.add_argument("--project", type=uuid.UUID, help="Only this project.")

    def handle(self, *args, tenant: str | None, project: uuid.UUID | None, **options):
        projects = Project.objects.filter(
            pk__in=AuditReport.objects.values("project_id")
        ).select_related("tenant")
        if tenant is not None:
            tenant_obj = Tenant.objects.filter(slug=tenant).first()
            if tenant_obj is None:
                raise CommandError(f"No tenant {tenant!r}.")
            projects = projects.filter(tenant=tenant_obj)
        if project is not None:
            if not Project.objects.filter(pk=project).exists():
                raise CommandError(f"No project {project}.")
            projects = projects.filter(pk=project)
        checked = failed = reports = 0
        for project_obj in projects.order_by("tenant__slug", "created_at").iterator():
            outcome = report_chain_verify(project=project_obj)
            checked += 1
            reports += outcome.reports
            if outcome.ok:
                self.stdout.write(
                    f"ok: {project_obj.tenant.slug}/{project_obj} ({project_obj.id}), "
                    f"{outcome.reports} reports"
                )
                continue
            failed += 1
            self.stdout.write(
                self.style.ERROR(
                    f"TAMPERED: {project_obj.tenant.slug}/{project_obj} ({project_obj.id})"
                )
            )
            for problem in outcome.problems:
                self.stdout.write(f"  {problem}")
        summary = f"{checked} projects, {reports} reports checked, {failed} with problems."
        if failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
