"""Job kinds of the legacy migration."""

from pathlib import Path

from rest_framework import serializers

from jobs.errors import JobInputError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_input, job_kind
from legacy import sources as legacy
from legacy.services import legacy_migrate
from legacy.verification import legacy_verify


class ImportLegacyInput(serializers.Serializer):
    """A file store (`store`: the job's tenant receives it) or one legacy tenant of a JSONL export
    (`jsonl`: the job's tenant is the one that legacy tenant became)."""

    path = serializers.CharField()
    mode = serializers.ChoiceField(choices=legacy.MODES)
    legacy_tenant = serializers.CharField(required=False, allow_blank=True, default="")
    dry_run = serializers.BooleanField(default=False)
    verify = serializers.BooleanField(default=False)


@job_kind("import_legacy", queue="low", input_serializer=ImportLegacyInput)
def import_legacy(job: Job, progress: Progress) -> dict:
    """Migrate (or dry-run, or verify) a legacy installation into the job's tenant. Resumable:
    each project is its own transaction and projects migrated already are skipped."""
    data = job_input(job, ImportLegacyInput, what="legacy import")
    path = Path(data["path"])
    if not path.is_dir():
        raise JobInputError("source_not_found", f"No folder {path} on the server.")
    legacy_tenant = data["legacy_tenant"]
    if data["mode"] == legacy.JSONL and legacy.tenant_slug(legacy_tenant) != job.tenant.slug:
        raise JobInputError(
            "tenant_mismatch",
            f"Legacy tenant {legacy_tenant!r} does not become this job's tenant.",
        )
    options = {"tenant": job.tenant, "mode": data["mode"], "path": path}
    if data["verify"]:
        return legacy_verify(**options, legacy_tenant=legacy_tenant, progress=progress)
    report = legacy_migrate(
        **options,
        legacy_tenant=legacy_tenant,
        dry_run=data["dry_run"],
        progress=progress,
        job=job,
    )
    return report.as_dict()
