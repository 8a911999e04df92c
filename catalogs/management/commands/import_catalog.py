import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalogs.services import catalog_import_start
from core.errors import ApiError
from jobs.console import SHOWN_PROBLEMS, job_failure_message, job_run_inline
from jobs.models import Job
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Import a price catalog (CSV or XLSX: code, description, unit, unit price; or the OTSKP "
        "XML) as a new catalog or the next edition of one: runs the same import_catalog job as "
        "the API, inline, with a progress bar. An update raises alerts for positions whose "
        "reference price or unit changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("file", type=Path)
        target = parser.add_mutually_exclusive_group()
        target.add_argument(
            "--name", help="The catalog's name: updated if it exists, created otherwise."
        )
        target.add_argument("--catalog", help="The id of the catalog to update.")
        parser.add_argument(
            "--edition",
            default="",
            help="The new edition's name as budgets name its price system, e.g. 'ÚRS 2026 01' "
            "(default: as an OTSKP file states it, else '<catalog> v<n>').",
        )

    def handle(
        self,
        *args,
        tenant: str,
        file: Path,
        name: str | None,
        catalog: str | None,
        edition: str,
        **o,
    ):
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant {tenant!r}.")
        try:
            catalog_id = uuid.UUID(catalog) if catalog else None
        except ValueError:
            raise CommandError(f"--catalog: {catalog!r} is not an id.") from None
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        try:
            with file.open("rb") as stream:
                job = catalog_import_start(
                    tenant=tenant_obj,
                    actor="manage.py import_catalog",
                    catalog_id=catalog_id,
                    name=name or "",
                    edition=edition,
                    file=stream,
                    filename=file.name,
                    dispatch=False,
                )
        except ApiError as exc:  # e.g. no such catalog in the tenant
            raise CommandError(f"{exc.detail} (tenant {tenant_obj.slug})") from None
        job = job_run_inline(job=job, bar_stream=self.stderr, log_stream=self.stdout)
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(job_failure_message(job, what="Import"))
        result = job.result
        assert result is not None  # a succeeded job has its result
        changes = result["changes"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Catalog {result['name']} ({result['catalog']}) version {result['version']}: "
                f"{result['items']} items (added {changes['added']}, changed "
                f"{changes['changed']}, removed {changes['removed']}); {result['alerts']} alerts; "
                f"edition {result['edition']['name']}."
            )
        )
        for warning in result["warnings"][:SHOWN_PROBLEMS]:
            self.stdout.write(self.style.WARNING(f"warning: {warning['message']}"))
