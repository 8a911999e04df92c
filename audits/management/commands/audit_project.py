import uuid
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from audits.start import DEFAULT_CATALOG, audit_start
from core.errors import ApiError
from jobs.console import job_failure_message, job_run_inline
from jobs.models import Job
from projects.models import Project


class Command(BaseCommand):
    help = (
        "Audit a version of a project against a price catalog: runs the same audit_project job as "
        "the API, inline, with a progress bar."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # `--version N` names the budget version here, not Django's version.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("project", type=uuid.UUID, help="The project's id.")
        parser.add_argument("--version", type=int, help="The version (default: the current one).")
        parser.add_argument(
            "--catalog",
            type=uuid.UUID,
            help="The catalog's id (default: the tenant's most recently updated catalog).",
        )
        parser.add_argument(
            "--edition",
            help="Compare every position with this edition (its id or name, e.g. 'ÚRS 2026 01'); "
            "default: each position with the edition it names.",
        )
        parser.add_argument(
            "--index",
            help="With --edition: a price index in percent applied to its prices (e.g. 6.2).",
        )

    def handle(
        self,
        *args,
        project: uuid.UUID,
        version: int | None,
        catalog,
        edition: str | None,
        index: str | None,
        **options,
    ):
        project_obj = Project.objects.select_related("tenant").filter(pk=project).first()
        if project_obj is None:
            raise CommandError(f"No project {project}.")
        try:
            index_value = Decimal(index.replace(",", ".").rstrip("% ")) if index else None
        except InvalidOperation:
            raise CommandError(f"--index: {index!r} is not a percentage.") from None
        try:
            job = audit_start(
                project=project_obj,
                actor="manage.py audit_project",
                version=version,
                catalog=catalog or DEFAULT_CATALOG,
                edition=edition,
                index=index_value,
                dispatch=False,
            )
        except ApiError as exc:
            raise CommandError(str(exc.detail)) from None
        job = job_run_inline(job=job, bar_stream=self.stderr, log_stream=self.stdout)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(job_failure_message(job, what="Audit"))
        result = job.result
        assert result is not None  # a succeeded job has its result
        counts = result["counts"]
        catalog_text = (
            f"catalog {result['catalog']} v{result['catalog_version']}"
            if result["catalog"]
            else "no catalog"
        )
        reference = result.get("reference") or {}
        if reference.get("mode") == "chosen":
            index_text = f", index {reference['index']} %" if reference.get("index") else ""
            catalog_text += f", edition {reference['edition']['name']}{index_text}"
        self.stdout.write(
            self.style.SUCCESS(
                f"Report {result['report_number']} of {project_obj}, version {result['version']} "
                f"({catalog_text}): {counts['green']} green, {counts['amber']} amber, "
                f"{counts['red']} red; {result['findings']} findings, {result['waived']} waived. "
                f"SHA-256 {result['sha256']}."
            )
        )
