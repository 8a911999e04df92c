import uuid
from pathlib import Path

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from core.errors import ApiError
from evidence.models import Evidence
from jobs.console import job_failure_message, job_run_inline
from jobs.models import Job
from projects.models import Project
from projects.services.exports import FORMATS, budget_export_start

COPY_CHUNK = 1024 * 1024


class Command(BaseCommand):
    help = (
        "Export a version of a project's budget as XLSX or CSV (with audit status and findings): "
        "runs the same export_budget job as the API, inline, with a progress bar. The file is "
        "kept as the project's evidence, and copied to --output when given."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs):
        # `--version` names the budget's version here, not Django's: ours replaces the built-in.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's id.")
        parser.add_argument("--format", choices=sorted(FORMATS), required=True)
        parser.add_argument("--version", type=int, help="A version number; default: current.")
        parser.add_argument("--output", type=Path, help="Also write the file here.")

    def handle(self, *args, project: str, format: str, version: int | None, output, **options):
        try:
            project_obj = (
                Project.objects.select_related("tenant").filter(pk=uuid.UUID(project)).first()
            )
        except ValueError:
            raise CommandError(f"{project!r} is not a project id.") from None
        if project_obj is None:
            raise CommandError(f"No project {project}.")
        try:
            job = budget_export_start(
                project=project_obj, format=format, version=version, dispatch=False
            )
        except ApiError as exc:
            raise CommandError(str(exc.detail)) from None
        job = job_run_inline(job=job, bar_stream=self.stderr, log_stream=self.stdout)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(job_failure_message(job, what="Export"))
        result = job.result
        assert result is not None  # a succeeded job has its result
        evidence = Evidence.objects.for_tenant(project_obj.tenant).get(pk=result["evidence"])
        if output is not None:
            with default_storage.open(evidence.key, "rb") as source, output.open("wb") as target:
                while chunk := source.read(COPY_CHUNK):
                    target.write(chunk)
        self.stdout.write(
            self.style.SUCCESS(
                f"Version {result['version']} of {project_obj}: {result['rows']} positions "
                f"as {result['filename']} (evidence {result['evidence']})"
                + (f", written to {output}." if output is not None else ".")
            )
        )
