"""Job kinds of the projects app."""

from pathlib import Path

from rest_framework import serializers

from config.errors import ApiError
from evidence.selectors import evidence_get
from jobs.errors import JobInputError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_input, job_kind
from projects import legacy, selectors
from projects.importers import ImportFailed
from projects.models import AuditReport, BudgetVersion, PriceCatalog, Project
from projects.services import budget_import
from projects.services.audits import AuditFailed, AuditOutcome, audit_run
from projects.services.catalogs import catalog_import
from projects.services.exports import FORMATS as EXPORT_FORMATS
from projects.services.exports import budget_export
from projects.services.legacy import legacy_migrate, legacy_verify
from projects.sources import import_source_open


def _job_project(job: Job) -> Project:
    """The project the job works on, of the job's tenant."""
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
    project = _job_project(job)
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
    return outcome.as_result()


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


class ImportCatalogInput(serializers.Serializer):
    """The source as for budgets; the catalog by id (an update) or by name (created if new)."""

    evidence = serializers.UUIDField(required=False)
    path = serializers.CharField(required=False)
    filename = serializers.CharField()
    catalog = serializers.UUIDField(required=False, allow_null=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


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
                source=source,
                progress=progress,
            )
    except ImportFailed as exc:
        raise JobInputError(exc.code, exc.message, exc.as_details()) from None
    return outcome.as_result()


class ExportBudgetInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(EXPORT_FORMATS))
    version = serializers.IntegerField(min_value=1, required=False, allow_null=True)


@job_kind("export_budget")
def export_budget(job: Job, progress: Progress) -> dict:
    """Write a version of the job's project as XLSX or CSV evidence; the result names it. Running
    it again writes the file again (the same bytes are stored once)."""
    data = job_input(job, ExportBudgetInput, what="export job")
    project = _job_project(job)
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


class AuditProjectInput(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, required=False, help_text="The version to audit; the current one if omitted."
    )
    catalog = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The catalog; the tenant's most recently updated one if omitted.",
    )
    actor = serializers.CharField(required=False, allow_blank=True, default="")


@job_kind("audit_project", exclusive=True)
def audit_project(job: Job, progress: Progress) -> dict:
    """Audit a version of the job's project against a catalog; the result names the report."""
    data = job_input(job, AuditProjectInput, what="audit job")
    project = _job_project(job)
    done = (
        AuditReport.objects.for_tenant(job.tenant).filter(job=job).select_related("version").first()
    )
    if done is not None:  # a redelivered job whose report was committed already
        outcome = AuditOutcome(report=done, positions=done.version.position_count, waived=0)
        return {**outcome.as_result(), "redelivered": True}
    version = None
    if "version" in data:
        version = BudgetVersion.objects.filter(project=project, number=data["version"]).first()
        if version is None:
            raise JobInputError("version_not_found", f"Version {data['version']} not found.")
    catalog = _audit_catalog(job, data)
    try:
        outcome = audit_run(
            project=project,
            version=version,
            catalog=catalog,
            policy=selectors.audit_policy_for(tenant=job.tenant),
            job=job,
            progress=progress,
            created_by=job.created_by,
            actor=data["actor"],
        )
    except AuditFailed as exc:
        raise JobInputError(exc.code, exc.message, exc.details) from None
    except ApiError as exc:  # e.g. the report would exceed the evidence storage quota
        raise JobInputError(exc.error_code, str(exc.detail), exc.details) from None
    return outcome.as_result()


def _audit_catalog(job: Job, data: dict) -> PriceCatalog | None:
    if "catalog" not in data:
        return selectors.catalog_default(tenant=job.tenant)
    if data["catalog"] is None:  # asked for an audit without a catalog
        return None
    catalog = PriceCatalog.objects.for_tenant(job.tenant).filter(pk=data["catalog"]).first()
    if catalog is None:
        raise JobInputError("catalog_not_found", "The job names no catalog of this tenant.")
    return catalog
