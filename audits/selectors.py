"""Reads of audit policies, findings, waivers and reports; every one requires the tenant."""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from audits.models import AuditPolicy, AuditReport, Finding, Waiver
from audits.rules.types import Policy, Sample
from core.errors import not_found
from projects.models import BudgetVersion, Position, Project
from tenants.models import Tenant


# Audits -------------------------------------------------------------------------------------------
def audit_policy_for(*, tenant: Tenant) -> Policy:
    """The tenant's audit thresholds: its AuditPolicy, or the defaults when it has none."""
    stored = AuditPolicy.objects.for_tenant(tenant).first()
    return stored.as_policy() if stored is not None else Policy()


# Median and MAD per code in one statement, with window functions both PostgreSQL and SQLite
# have: rank each code's prices, average the middle one or two (the median), then the same over
# the distances from it (the MAD). `prices` is the tenant-scoped queryset's own SQL. Every code of
# the other projects is summarised and the caller keeps the ones it needs: a filter by the audited
# version's codes inside the statement tempts the planner into one index probe per price.
_SAMPLES_SQL = """
WITH prices (code, price) AS ({prices}),
ranked AS (
    SELECT code, price,
           ROW_NUMBER() OVER (PARTITION BY code ORDER BY price) AS rn,
           COUNT(*) OVER (PARTITION BY code) AS n
    FROM prices
),
medians AS (
    SELECT code, n, AVG(price) AS median
    FROM ranked
    WHERE n >= %s AND rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY code, n
),
distances AS (
    SELECT p.code, m.n, m.median, ABS(p.price - m.median) AS distance,
           ROW_NUMBER() OVER (PARTITION BY p.code ORDER BY ABS(p.price - m.median)) AS rn
    FROM prices p JOIN medians m ON m.code = p.code
)
SELECT code, n, median, AVG(distance)
FROM distances
WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
GROUP BY code, n, median
"""


def peer_price_samples(
    *, tenant: Tenant, project: Project, codes: set[str], min_sample: int
) -> dict[str, Sample]:
    """Size, median and MAD of the unit prices of each of `codes` in the tenant's other projects
    (their current versions; not archived or deleted), for codes with at least `min_sample`
    prices: computed by the database in one query."""
    prices = (
        Position.objects.for_tenant(tenant)
        .filter(valid_to__isnull=True, unit_price__gt=0)
        .exclude(code="")
        .exclude(project=project)
        .exclude(project__status=Project.Status.ARCHIVED)
        .filter(project__deleted_at__isnull=True)
        .order_by()
        .values_list("code", "unit_price")
    )
    sql, params = prices.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_SAMPLES_SQL.format(prices=sql), [*params, min_sample])
        rows = cursor.fetchall()
    return {
        code: Sample(int(size), _decimal(median), _decimal(mad))
        for code, size, median, mad in rows
        if code in codes
    }


def _decimal(value: Any) -> Decimal:
    # PostgreSQL averages numerics exactly; SQLite hands back a float.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _active_waiver() -> QuerySet[Waiver]:
    return Waiver.objects.filter(
        version=OuterRef("version"),
        line_key=OuterRef("line_key"),
        rule=OuterRef("rule"),
        withdrawn_at__isnull=True,
    )


def finding_list(
    *,
    tenant: Tenant,
    project: Project,
    version: BudgetVersion,
    status: str | None = None,
    rule: str | None = None,
    line_key: str | None = None,
    waived: bool | None = None,
) -> QuerySet[Finding]:
    """Findings of one version, each annotated with `waiver_id` (its active waiver or None)."""
    findings = (
        Finding.objects.for_tenant(tenant)
        .filter(project=project, version=version)
        .annotate(waiver_id=Subquery(_active_waiver().values("id")[:1]))
    )
    if status:
        findings = findings.filter(recommendation=status)
    if rule:
        findings = findings.filter(rule=rule)
    if line_key:
        findings = findings.filter(line_key=line_key)
    if waived is not None:
        findings = findings.filter(waiver_id__isnull=not waived)
    return findings


def finding_get(*, tenant: Tenant, project: Project, finding_id: Any) -> Finding:
    finding = (
        Finding.objects.for_tenant(tenant)
        .filter(project=project, pk=finding_id)
        .select_related("version")
        .first()
    )
    if finding is None:
        raise not_found("Finding")
    return finding


def waiver_list(
    *,
    tenant: Tenant,
    project: Project,
    version: BudgetVersion | None = None,
    line_key: str | None = None,
    active: bool | None = None,
) -> QuerySet[Waiver]:
    """Every waiver of the project, withdrawn ones too: the history."""
    waivers = Waiver.objects.for_tenant(tenant).filter(project=project).select_related("version")
    if version is not None:
        waivers = waivers.filter(version=version)
    if line_key:
        waivers = waivers.filter(line_key=line_key)
    if active is not None:
        waivers = waivers.filter(withdrawn_at__isnull=active)
    return waivers


def waiver_get(*, tenant: Tenant, project: Project, waiver_id: Any) -> Waiver:
    waiver = waiver_list(tenant=tenant, project=project).filter(pk=waiver_id).first()
    if waiver is None:
        raise not_found("Waiver")
    return waiver


def report_list(*, tenant: Tenant, project: Project) -> QuerySet[AuditReport]:
    return (
        AuditReport.objects.for_tenant(tenant)
        .filter(project=project)
        .select_related("version", "catalog", "document")
        .order_by("-number")
    )


def report_get(*, tenant: Tenant, report_id: Any) -> AuditReport:
    report = (
        AuditReport.objects.for_tenant(tenant)
        .filter(pk=report_id)
        .select_related("version", "catalog", "document", "project")
        .first()
    )
    if report is None:
        raise not_found("Report")
    return report


FINDINGS_SEPARATOR = " | "


def findings_text_by_line(version: BudgetVersion) -> dict[str, str]:
    """The version's findings per line key, as one text cell each ("rule: reasoning", joined by
    " | "), in one query: the findings column of budget exports."""
    texts: dict[str, list[str]] = defaultdict(list)
    rows = (
        # for_tenant() takes a Tenant: the version's tenant by id, without loading it.
        Finding.objects.filter(tenant_id=version.tenant_id, version=version)
        .order_by("line_key", "rule")
        .values_list("line_key", "rule", "reasoning")
    )
    for line_key, rule, reasoning in rows.iterator(chunk_size=2000):
        texts[line_key].append(f"{rule}: {reasoning}")
    return {key: FINDINGS_SEPARATOR.join(parts) for key, parts in texts.items()}
