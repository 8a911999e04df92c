"""Job kinds of the projects app."""

from rest_framework import serializers

from jobs.errors import JobInputError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_kind
from projects.importers import ImportFailed
from projects.models import BudgetVersion, Project
from projects.services import budget_import
from projects.sources import import_source_open


class ImportBudgetInput(serializers.Serializer):
    """The source is a document (`evidence`) or a file uploaded with the request (`path`)."""

    evidence = serializers.UUIDField(required=False)
    path = serializers.CharField(required=False)
    filename = serializers.CharField()
    actor = serializers.CharField(required=False, allow_blank=True, default="")


@job_kind("import_budget", exclusive=True)
def import_budget(job: Job, progress: Progress) -> dict:
    """Import the file named by the job's input as the next version of the job's project."""
    payload = ImportBudgetInput(data=job.input)
    if not payload.is_valid():
        raise JobInputError("invalid_input", "The import job's input is invalid.", payload.errors)
    project = Project.objects.for_tenant(job.tenant).filter(pk=job.project_id).first()
    if project is None:
        raise JobInputError("project_not_found", "The job names no project of this tenant.")
    done = BudgetVersion.objects.for_tenant(job.tenant).filter(job=job).first()
    if done is not None:  # a redelivered job whose version was committed already
        return {"version": done.number, "positions": done.position_count, "redelivered": True}
    try:
        with import_source_open(tenant=job.tenant, source=payload.validated_data) as stream:
            outcome = budget_import(
                project=project,
                stream=stream,
                filename=payload.validated_data["filename"],
                created_by=job.created_by,
                actor=payload.validated_data["actor"],
                progress=progress,
                job=job,
            )
    except ImportFailed as exc:
        raise JobInputError(exc.code, exc.message, exc.as_details()) from None
    return outcome.as_result()
