import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApiError
from jobs.console import SHOWN_PROBLEMS, job_failure_message, job_run_inline
from jobs.models import Job
from projects.models import Project
from projects.services import project_create
from projects.services.imports import budget_import_start
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Import a budget file (CSV, XLSX, UNIXML 1.1/1.2) as the next version of a project: runs "
        "the same import_budget job as the API, inline, with a progress bar."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("project", help="The project's id or exact name.")
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--create", action="store_true", help="Create the project when none has this name."
        )

    def handle(self, *args, tenant: str, project: str, file: Path, create: bool, **options):
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant {tenant!r}.")
        project_obj = self._project(tenant_obj, project, create)
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            with file.open("rb") as stream:
                job = budget_import_start(
                    project=project_obj,
                    actor="manage.py import_budget",
                    file=stream,
                    filename=file.name,
                    dispatch=False,
                )
        except ApiError as exc:
            raise CommandError(str(exc.detail)) from None
        job = job_run_inline(job=job, bar_stream=self.stderr, log_stream=self.stdout)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(job_failure_message(job, what="Import"))
        result = job.result
        assert result is not None  # a succeeded job has its result
        changes = result["changes"]
        if result.get("total_mismatches"):
            self.stdout.write(self.style.ERROR(result["message"]))
        if result.get("unchanged"):
            self.stdout.write(self.style.SUCCESS(result["message"]))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Version {result['version']} of {project_obj}: {result['positions']} positions, "
                f"total {result['total_cost']} {project_obj.currency} (added {changes['added']}, "
                f"removed {changes['removed']}, modified {changes['modified']})."
            )
        )
        for warning in result["warnings"][:SHOWN_PROBLEMS]:
            self.stdout.write(self.style.WARNING(f"warning: {warning['message']}"))
        if result["warning_count"] > SHOWN_PROBLEMS:
            self.stdout.write(f"… {result['warning_count']} warnings in all (job {job.id}).")

    def _project(self, tenant: Tenant, reference: str, create: bool) -> Project:
        projects = Project.objects.for_tenant(tenant)
        try:
            found = projects.filter(pk=uuid.UUID(reference)).first()
        except ValueError:
            matches = list(projects.filter(name=reference)[:2])
            if len(matches) > 1:
                raise CommandError(
                    f"Several projects are named {reference!r}: give an id."
                ) from None
            found = matches[0] if matches else None
            if found is None and create:
                return project_create(tenant=tenant, name=reference)
        if found is None:
            raise CommandError(f"No project {reference!r} in {tenant.slug} (--create makes one).")
        return found
