"""Job kinds of the projects app."""

from rest_framework import serializers

from core.errors import ApiError
from jobs.errors import JobInputError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_input, job_kind
from projects.importers import ImportFailed
from projects.models import BudgetVersion, Project
from projects.services import budget_import
from projects.services.exports import FORMATS as EXPORT_FORMATS
from projects.services.exports import budget_export
from projects.sources import import_source_open


def job_project(job: Job) -> Project:
    """The project the job works on, of the job's tenant."""
    project = None
    if job.project_id is not None:
        project = (
            Project.objects.for_tenant(job.tenant)
            .select_related("current_version", "tenant")
            .filter(pk=job.project_id)
            .first()
        )
    if project is None:
        raise JobInputError("project_not_found", "The job names no project of this tenant.")
    return project


class ImportBudgetInput(serializers.Serializer):
    """The source is a document (`evidence`) or a file uploaded with the request (`path`)."""

    evidence = serializers.UUIDField(required=False)
    path = serializers.CharField(required=False)
    filename = serializers.CharField()
    actor = serializers.CharField(required=False, allow_blank=True, default="")


@job_kind("import_budget", exclusive=True)
def import_budget(job: Job, progress: Progress) -> dict:
    """Import the file named by the job's input as the next version of the job's project."""
    data = job_input(job, ImportBudgetInput, what="import job")
    project = job_project(job)
    done = BudgetVersion.objects.for_tenant(job.tenant).filter(job=job).first()
    if done is not None:  # a redelivered job whose version was committed already
        return {"version": done.number, "positions": done.position_count, "redelivered": True}
    try:
        with import_source_open(tenant=job.tenant, source=data) as stream:
            outcome = budget_import(
                project=project,
                stream=stream,
                filename=data["filename"],
                created_by=job.created_by,
                actor=data["actor"],
                progress=progress,
                job=job,
            )
    except ImportFailed as exc:
        raise JobInputError(exc.code, exc.message, exc.as_details()) from None
    except ApiError as exc:  # the plan's positions per project
        raise JobInputError(exc.error_code, str(exc.detail), exc.details) from None
    return outcome.as_result()


class ExportBudgetInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(EXPORT_FORMATS))
    version = serializers.IntegerField(min_value=1, required=False, allow_null=True)


@job_kind("export_budget")
def export_budget(job: Job, progress: Progress) -> dict:
    """Write a version of the job's project as XLSX or CSV evidence; the result names it. Running
    it again writes the file again (the same bytes are stored once)."""
    data = job_input(job, ExportBudgetInput, what="export job")
    project = job_project(job)
    try:
        outcome = budget_export(
            project=project,
            format=data["format"],
            version=data.get("version"),
            created_by=job.created_by,
            progress=progress,
        )
    except ApiError as exc:
        raise JobInputError(exc.error_code, str(exc.detail), exc.details) from None
    return outcome.as_result()
