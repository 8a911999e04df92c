"""Job kinds of the catalogs app."""

from rest_framework import serializers

from catalogs.services import catalog_import
from evidence.selectors import evidence_get
from jobs.errors import JobInputError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_input, job_kind
from projects.importers import ImportFailed
from projects.sources import import_source_open


class ImportCatalogInput(serializers.Serializer):
    """The source as for budgets; the catalog by id (an update) or by name (created if new); the
    edition's name."""

    evidence = serializers.UUIDField(required=False)
    path = serializers.CharField(required=False)
    filename = serializers.CharField()
    catalog = serializers.UUIDField(required=False, allow_null=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    edition = serializers.CharField(required=False, allow_blank=True, max_length=100)


@job_kind("import_catalog")
def import_catalog(job: Job, progress: Progress) -> dict:
    """Import the price catalog file named by the job's input; an update raises alerts. A
    redelivered job whose import committed finds the same edition stored and changes nothing."""
    data = job_input(job, ImportCatalogInput, what="catalog job")
    source = None
    if data.get("evidence"):
        source = evidence_get(tenant=job.tenant, evidence_id=data["evidence"])
    try:
        with import_source_open(tenant=job.tenant, source=data) as stream:
            outcome = catalog_import(
                tenant=job.tenant,
                stream=stream,
                filename=data["filename"],
                name=data.get("name") or None,
                catalog_id=data.get("catalog"),
                edition=data.get("edition") or "",
                source=source,
                progress=progress,
            )
    except ImportFailed as exc:
        raise JobInputError(exc.code, exc.message, exc.as_details()) from None
    return outcome.as_result()
