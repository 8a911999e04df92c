"""Job kinds of the audits app."""

from rest_framework import serializers

from audits import selectors
from audits.models import AuditReport
from audits.services import AuditFailed, AuditOutcome, audit_run
from catalogs.models import CatalogEdition, PriceCatalog
from catalogs.selectors import catalog_default
from core.errors import ApiError
from jobs.errors import JobInputError
from jobs.models import Job
from jobs.progress import Progress
from jobs.registry import job_input, job_kind
from projects.handlers import job_project
from projects.models import BudgetVersion


class AuditProjectInput(serializers.Serializer):
    version = serializers.IntegerField(
        min_value=1, required=False, help_text="The version to audit; the current one if omitted."
    )
    catalog = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="The catalog; the tenant's most recently updated one if omitted.",
    )
    edition = serializers.UUIDField(
        required=False, help_text="Compare every position with this edition."
    )
    index = serializers.DecimalField(
        max_digits=9,
        decimal_places=4,
        required=False,
        help_text="A price index in percent applied to the edition's prices.",
    )
    actor = serializers.CharField(required=False, allow_blank=True, default="")


@job_kind("audit_project", exclusive=True)
def audit_project(job: Job, progress: Progress) -> dict:
    """Audit a version of the job's project against the editions its positions name, a catalog
    or a chosen edition; the result names the report."""
    data = job_input(job, AuditProjectInput, what="audit job")
    project = job_project(job)
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
    edition = None
    if "edition" in data:
        edition = (
            CatalogEdition.objects.for_tenant(job.tenant)
            .select_related("catalog")
            .filter(pk=data["edition"])
            .first()
        )
        if edition is None:
            raise JobInputError("edition_not_found", "The job names no edition of this tenant.")
    try:
        outcome = audit_run(
            project=project,
            version=version,
            catalog=catalog,
            edition=edition,
            index=data.get("index"),
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
        return catalog_default(tenant=job.tenant)
    if data["catalog"] is None:  # asked for an audit without a catalog
        return None
    catalog = PriceCatalog.objects.for_tenant(job.tenant).filter(pk=data["catalog"]).first()
    if catalog is None:
        raise JobInputError("catalog_not_found", "The job names no catalog of this tenant.")
    return catalog
