"""Reading a legacy project and turning it into what a migration writes (rows, findings), and
opening its documents checked against the hashes the source states."""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from audits.models import Finding
from core.errors import ApiError
from evidence.uploads import spool_fileobj
from legacy import sources as legacy
from legacy.sources import LegacyFile, LegacyProject, Rejection, Unreadable
from projects.bulk import new_ids
from projects.importers import ImportFailed, ImportReport, rows_from_positions
from projects.models import Position
from tenants.models import Tenant
from tenants.services import positions_quota_check

_STATUS_RANK: dict[str, int] = {
    Position.AuditStatus.UNAUDITED: 0,
    Position.AuditStatus.GREEN: 1,
    Position.AuditStatus.AMBER: 2,
    Position.AuditStatus.RED: 3,
}
_ID, _LINE_KEY, _POSITION_NUMBER, _TOTAL, _AUDIT_STATUS = 0, 3, 5, -3, -2
_ROLE_LIMIT = Finding._meta.get_field("role").max_length
CONFIDENCE_PLACES = Decimal("0.001")


def migration_items(
    *, mode: str, path: Path, legacy_tenant: str
) -> tuple[list[Any], list[Rejection]]:
    """The items to migrate in order (project folders, or read projects) and the early
    rejections."""
    if mode == legacy.STORE:
        return legacy.store_project_dirs(path), []
    return legacy.jsonl_projects(path, legacy_tenant=legacy_tenant)


def project_read(item: Any) -> LegacyProject:
    return legacy.store_project_read(item) if isinstance(item, Path) else item


def project_unreadable(item: Any, why: str, legacy_tenant: str) -> Rejection:
    legacy_id = item.name if isinstance(item, Path) else item.legacy_id
    return Rejection("project", legacy_id, why, tenant=legacy_tenant)


@dataclass
class PreparedProject:
    """A legacy project turned into stored rows and findings, ready to write."""

    project: LegacyProject
    rows: list[tuple]
    findings: list[tuple]
    total_cost: Decimal
    rejected: list[Rejection]

    @property
    def totals(self) -> dict[str, Any]:
        """What `exact_total` would say of the rows once written."""
        statuses = Counter(row[_AUDIT_STATUS] for row in self.rows)
        return {
            "count": len(self.rows),
            "total_cost": self.total_cost,
            "green": statuses[Position.AuditStatus.GREEN],
            "amber": statuses[Position.AuditStatus.AMBER],
            "red": statuses[Position.AuditStatus.RED],
        }


def project_prepare(
    project: LegacyProject, *, tenant: Tenant | None, legacy_tenant: str
) -> PreparedProject:
    """Rows as an import builds them (line keys, stored scales, fingerprints) with new ids and
    the audit status of their worst finding; findings keyed to them. Raises Unreadable."""
    report = ImportReport()
    try:
        rows = list(rows_from_positions(project.positions, report=report))
    except ImportFailed as exc:
        raise Unreadable(exc.message) from None
    if tenant is not None:
        try:
            positions_quota_check(tenant=tenant, count=len(rows))
        except ApiError as exc:
            raise Unreadable(str(exc.detail)) from None
    by_number: dict[str, int] = {}
    for at, row in enumerate(rows):
        by_number.setdefault(row[_POSITION_NUMBER], at)
    statuses: list[str] = [Position.AuditStatus.UNAUDITED] * len(rows)
    findings: list[tuple] = []
    rejected: list[Rejection] = []
    ids = new_ids(len(rows))
    for audit in project.audits:
        index = by_number.get(audit.position_number)
        why = ""
        if index is None:
            why = f"no position {audit.position_number!r} in the project"
        elif audit.recommendation not in legacy.RECOMMENDATIONS:
            why = f"recommendation {audit.recommendation!r} is not GREEN, AMBER or RED"
        if why or index is None:  # no index: there is a why
            rejected.append(
                Rejection(
                    "audit_result",
                    project.legacy_id,
                    why,
                    tenant=legacy_tenant,
                    file="audit_results.json",
                    line=audit.line,
                )
            )
            continue
        recommendation = audit.recommendation.lower()
        if _STATUS_RANK[recommendation] > _STATUS_RANK[statuses[index]]:
            statuses[index] = recommendation
        findings.append(
            (
                ids[index],
                rows[index][_LINE_KEY],
                f"legacy.{audit.role}"[:64],
                audit.role[:_ROLE_LIMIT],
                recommendation,
                _confidence(audit.confidence),
                audit.reasoning,
                audit.line,
            )
        )
    total = Decimal(0)
    placed = []
    for index, row in enumerate(rows):
        if row[_TOTAL] is not None:
            total += Decimal(row[_TOTAL])
        placed.append((ids[index], *row[1:_AUDIT_STATUS], statuses[index], row[-1]))
    return PreparedProject(project, placed, findings, total.quantize(Decimal("0.01")), rejected)


def _confidence(value: Decimal) -> Decimal:
    """Legacy confidences are percents (0–100); ours are fractions (0–1)."""
    if value > 1:
        value = value / 100
    return min(max(value, Decimal(0)), Decimal(1)).quantize(CONFIDENCE_PLACES)


def file_open_checked(
    file: LegacyFile, source: LegacyProject, tenant_label: str
) -> tuple[Any, Any]:
    """The file spooled and hashed, or None and the Rejection: missing, or its bytes differ from
    the SHA-256 (or size) the source states."""

    def rejection(why: str) -> Rejection:
        return Rejection(
            "evidence",
            file.sha256 or file.name,
            why,
            tenant=tenant_label,
            file=f"{source.legacy_id}/{file.name}",
        )

    if not file.path.is_file():
        return None, rejection("missing: the file is not in the source")
    try:
        with file.path.open("rb") as stream:
            upload = spool_fileobj(stream, name=file.name)
    except ApiError as exc:  # over the upload size limit
        return None, rejection(str(exc.detail))
    if file.sha256 and upload.sha256 != file.sha256:
        upload.close()
        return None, rejection(f"corrupt: its bytes have SHA-256 {upload.sha256}")
    if file.size is not None and upload.size != file.size:
        upload.close()
        return None, rejection(f"corrupt: {upload.size} bytes, not {file.size}")
    return upload, None
