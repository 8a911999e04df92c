"""Runs every rule family over a version's positions."""

from collections.abc import Iterable

from projects.audit import arithmetic, catalog, cost, duplicates, validation
from projects.audit.types import AuditPosition, CatalogEntry, Finding, Policy, Recommendation


def audit_positions(
    *, positions: list[AuditPosition], catalog_entries: dict[str, CatalogEntry], policy: Policy
) -> dict[str, list[Finding]]:
    """Findings per position id (every position has an entry, possibly empty)."""
    twins = duplicates.check_all(positions)
    findings = {}
    for position in positions:
        entry = catalog_entries.get(position.code)
        findings[position.id] = [
            *validation.check(position),
            *arithmetic.check(position, policy),
            *catalog.check(position, entry),
            *cost.check(position, entry, policy),
            *twins.get(position.id, []),
        ]
    return findings


def status_of(findings: Iterable[Finding]) -> Recommendation:
    """The worst recommendation; GREEN when there is none."""
    return max(
        (f.recommendation for f in findings), key=lambda r: r.rank, default=Recommendation.GREEN
    )
