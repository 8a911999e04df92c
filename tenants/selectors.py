"""Reads for tenants, keys and usage."""

from django.db.models import Max, QuerySet
from django.db.models.functions import Coalesce

from projects.models import Project
from tenants.models import ApiKey, RequestLog, Tenant, UsageCounter
from tenants.services import current_month


def api_key_list(*, tenant: Tenant) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_tenant(tenant).select_related("created_by")


def tenant_usage(*, tenant: Tenant) -> dict[str, dict[str, int]]:
    """This month's counters against the tenant's quotas."""
    counters = dict(
        UsageCounter.objects.for_tenant(tenant)
        .filter(month=current_month())
        .values_list("metric", "value")
    )
    quotas = tenant.quotas
    return {
        UsageCounter.Metric.JOBS_STARTED: {
            "used": counters.get(UsageCounter.Metric.JOBS_STARTED, 0),
            "limit": quotas.max_jobs_per_month,
        },
        UsageCounter.Metric.EVIDENCE_BYTES: {
            "used": counters.get(UsageCounter.Metric.EVIDENCE_BYTES, 0),
            "limit": quotas.max_evidence_bytes,
        },
        # A per-project limit, not a monthly one: "used" is the largest current project.
        "positions_per_project": {
            "used": Project.objects.for_tenant(tenant)
            .filter(deleted_at__isnull=True)
            .aggregate(largest=Coalesce(Max("position_count"), 0))["largest"],
            "limit": quotas.max_positions_per_project,
        },
    }


def request_log_list(*, tenant: Tenant) -> QuerySet[RequestLog]:
    return RequestLog.objects.for_tenant(tenant).select_related("api_key", "user")
