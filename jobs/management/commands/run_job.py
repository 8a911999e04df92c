import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.management.base import BaseCommand, CommandError
from rest_framework import serializers

from core.errors import ApiError
from jobs.console import job_run_inline
from jobs.models import Job
from jobs.registry import JobKind, get_job_kind, job_kinds
from jobs.services import job_create
from projects.models import Project
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Run a job of any kind inline, here and now (the same code a worker runs), with a progress "
        "bar on stderr and its log lines on stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", help=f"one of {[kind.name for kind in job_kinds()]}")
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--project", help="project id")
        parser.add_argument("--input", default="{}", help="the job's input as a JSON object")

    def handle(self, *args, kind, tenant, project, input, **options):
        try:
            job_kind = get_job_kind(kind)
        except ApiError as exc:
            raise CommandError(str(exc.detail)) from None
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant {tenant!r}.")
        try:
            job = job_create(
                tenant=tenant_obj,
                kind=job_kind.name,
                input=_input(job_kind, input),
                project=_project(tenant_obj, project) if project else None,
                dispatch=False,
            )
        except ApiError as exc:  # another import or audit of the project, the monthly quota
            raise CommandError(str(exc.detail)) from None
        job = job_run_inline(job=job, bar_stream=self.stderr, log_stream=self.stdout)
        if job.status != Job.Status.SUCCEEDED:
            message = (job.error or {}).get("message", "")
            raise CommandError(f"Job {job.id} {job.status}. {message}".strip())
        self.stdout.write(f"Job {job.id} succeeded: {json.dumps(job.result)}")


def _input(job_kind: JobKind, raw: str) -> dict[str, Any]:
    try:
        return job_kind.validate_input(json.loads(raw))
    except ValueError:
        raise CommandError("--input: not valid JSON.") from None
    except serializers.ValidationError as exc:
        problems = exc.detail.items() if isinstance(exc.detail, dict) else [("", exc.detail)]
        described = "; ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in problems)
        raise CommandError(f"--input: {described}") from None


def _project(tenant: Tenant, project_id: str) -> Project:
    try:
        return Project.objects.for_tenant(tenant).get(pk=project_id)
    except (Project.DoesNotExist, DjangoValidationError):
        raise CommandError(f"No project {project_id!r} in {tenant.slug}.") from None
