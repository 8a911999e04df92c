from decimal import Decimal

from audits.rules.catalog import entry_evidence
from audits.rules.types import AuditPosition, CatalogEntry, Finding, Policy, Recommendation

ROLE = "cost"


def check(position: AuditPosition, entry: CatalogEntry | None, policy: Policy) -> list[Finding]:
    if entry is None or position.unit_price is None or entry.unit_price <= 0:
        return []
    deviation = position.unit_price / entry.unit_price - 1
    if deviation > policy.cost_red_above:
        recommendation = Recommendation.RED
        why = "far above"
    elif deviation > policy.cost_amber_above:
        recommendation = Recommendation.AMBER
        why = "above"
    elif deviation < policy.cost_amber_below:
        # Suspiciously cheap is worth a look but is not wrong: never RED.
        recommendation = Recommendation.AMBER
        why = "below"
    else:
        return []
    percent = (deviation * 100).quantize(Decimal("0.1"))
    return [
        Finding(
            rule="cost.deviation",
            role=ROLE,
            recommendation=recommendation,
            confidence=Decimal("0.9"),
            reasoning=(
                f"Unit price {position.unit_price} is {why} the catalog price {entry.unit_price} "
                f"of item {entry.code} ({percent:+}%)."
            ),
            suggested_fix=f"Justify the price or bring it near {entry.unit_price}.",
            evidence={
                **entry_evidence(entry),
                "deviation": str(deviation.quantize(Decimal("0.0001"))),
                "source_line": position.source_line,
            },
        )
    ]
