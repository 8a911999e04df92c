import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalogs.models import PriceCatalog
from jobs.console import SHOWN_PROBLEMS, job_failure_message, job_run_inline
from jobs.models import Job
from projects.sources import import_source_save
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Import a price catalog (CSV or XLSX: code, description, unit, unit price) as a new "
        "catalog or the next edition of one: runs the same import_catalog job as the API, "
        "inline, with a progress bar. An update raises alerts for positions whose reference "
        "price or unit changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's slug.")
        parser.add_argument("file", type=Path)
        target = parser.add_mutually_exclusive_group()
        target.add_argument(
            "--name", help="The catalog's name: updated if it exists, created otherwise."
        )
        target.add_argument("--catalog", help="The id of the catalog to update.")

    def handle(self, *args, tenant: str, file: Path, name: str | None, catalog: str | None, **o):
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"No tenant {tenant!r}.")
        target = {}
        if catalog:
            try:
                found = PriceCatalog.objects.for_tenant(tenant_obj).filter(pk=uuid.UUID(catalog))
            except ValueError:
                raise CommandError(f"--catalog: {catalog!r} is not an id.") from None
            if not found.exists():
                raise CommandError(f"No catalog {catalog} in {tenant_obj.slug}.")
            target["catalog"] = catalog
        elif name:
            target["name"] = name
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        with file.open("rb") as stream:
            source = import_source_save(tenant=tenant_obj, file=stream, filename=file.name)
        job = job_run_inline(
            tenant=tenant_obj,
            kind="import_catalog",
            input={**source, **target, "actor": "manage.py import_catalog"},
            bar_stream=self.stderr,
            log_stream=self.stdout,
        )
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(job_failure_message(job, what="Import"))
        result = job.result
        assert result is not None  # a succeeded job has its result
        changes = result["changes"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Catalog {result['name']} ({result['catalog']}) version {result['version']}: "
                f"{result['items']} items (added {changes['added']}, changed "
                f"{changes['changed']}, removed {changes['removed']}); {result['alerts']} alerts."
            )
        )
        for warning in result["warnings"][:SHOWN_PROBLEMS]:
            self.stdout.write(self.style.WARNING(f"warning: {warning['message']}"))
