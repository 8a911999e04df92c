"""Runs every rule family over a version's positions.

A family is a module with `RULES` (rule name → RuleInfo: what it finds, whether it runs by
default) and `run(context)`, yielding (position id, finding). A new rule is a module and a line in
FAMILIES; the tenant's policy switches any rule on or off (`Policy.rules`)."""

from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType

from audits.rules import (
    arithmetic,
    catalog,
    concentration,
    consistency,
    cost,
    duplicates,
    outliers,
    takeoff,
    validation,
)
from audits.rules.context import AuditContext
from audits.rules.types import (
    AuditPosition,
    CatalogEntry,
    Finding,
    Policy,
    Recommendation,
    Reference,
    RuleInfo,
    Sample,
)

# In this order each position's findings are listed.
FAMILIES: tuple[ModuleType, ...] = (
    validation,
    arithmetic,
    catalog,
    cost,
    duplicates,
    takeoff,
    outliers,
    concentration,
    consistency,
)
RULES: dict[str, RuleInfo] = {
    name: info for family in FAMILIES for name, info in family.RULES.items()
}


def enabled_rules(policy: Policy) -> frozenset[str]:
    """The rules that run under `policy`: each rule's default unless the policy switches it."""
    return frozenset(name for name, info in RULES.items() if policy.rules.get(name, info.default))


def policy_problems(policy: Policy) -> dict[str, str]:
    """Policy.problems(), and rule switches that name no rule."""
    found = policy.problems()
    unknown = sorted(set(policy.rules) - set(RULES))
    if unknown:
        found["rules"] = f"No such rule: {', '.join(unknown)}. The rules: {', '.join(RULES)}."
    return found


def audit_positions(
    *,
    positions: Sequence[AuditPosition],
    policy: Policy,
    catalog_entries: Mapping[str, CatalogEntry] | None = None,
    reference: Reference | None = None,
    peers: Mapping[str, Sample] | None = None,
    not_counted: frozenset[str] = frozenset(),
) -> dict[str, list[Finding]]:
    """Findings per position id (every position has an entry, possibly empty). `reference` says
    which catalog editions positions are compared with (`catalog_entries` alone: every position
    with that one); without either, the catalog and cost rules have nothing to compare with and
    stay silent, rather than calling every code unknown. `peers` holds the tenant's other
    projects' unit prices by code."""
    context = AuditContext(
        positions=positions,
        policy=policy,
        enabled=enabled_rules(policy),
        reference=reference or Reference(default=catalog_entries),
        peers=peers or {},
        not_counted=not_counted,
    )
    findings: dict[str, list[Finding]] = {position.id: [] for position in positions}
    for family in FAMILIES:
        for position_id, finding in family.run(context):
            findings[position_id].append(finding)
    return findings


def status_of(findings: Iterable[Finding]) -> Recommendation:
    """The worst recommendation; GREEN when there is none."""
    return max(
        (f.recommendation for f in findings), key=lambda r: r.rank, default=Recommendation.GREEN
    )
