"""Runs every rule family over a version's positions."""

from collections.abc import Iterable

from audits.rules import arithmetic, catalog, cost, duplicates, validation
from audits.rules.types import AuditPosition, CatalogEntry, Finding, Policy, Recommendation


def audit_positions(
    *,
    positions: list[AuditPosition],
    catalog_entries: dict[str, CatalogEntry] | None,
    policy: Policy,
) -> dict[str, list[Finding]]:
    """Findings per position id (every position has an entry, possibly empty). Without a catalog
    (`catalog_entries` None) the catalog and cost rules have nothing to compare with and stay
    silent, rather than calling every code unknown."""
    twins = duplicates.check_all(positions)
    findings = {}
    for position in positions:
        found = [*validation.check(position), *arithmetic.check(position, policy)]
        if catalog_entries is not None:
            entry = catalog_entries.get(position.code)
            found += catalog.check(position, entry)
            found += cost.check(position, entry, policy)
        found += twins.get(position.id, [])
        findings[position.id] = found
    return findings


def status_of(findings: Iterable[Finding]) -> Recommendation:
    """The worst recommendation; GREEN when there is none."""
    return max(
        (f.recommendation for f in findings), key=lambda r: r.rank, default=Recommendation.GREEN
    )
