from collections.abc import Iterator
from decimal import Decimal

from audits.rules.catalog import entry_evidence
from audits.rules.context import AuditContext
from audits.rules.types import (
    AuditPosition,
    CatalogEntry,
    Finding,
    Policy,
    Recommendation,
    RuleInfo,
    number_text,
)

ROLE = "cost"
RULES = {
    "cost.deviation": RuleInfo(
        "The unit price is above or below the catalog price (times the index, when one is "
        "given) by more than the policy's thresholds: amber, or red far above."
    )
}
PRICE = Decimal("0.0001")


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if not context.on(*RULES):
        return
    policy, index = context.policy, context.reference.index
    for position, resolved in zip(context.positions, context.resolved, strict=True):
        if resolved.entry is not None:
            for finding in check(position, resolved.entry, policy, index=index):
                yield position.id, finding


def check(
    position: AuditPosition,
    entry: CatalogEntry | None,
    policy: Policy,
    *,
    index: Decimal | None = None,
) -> list[Finding]:
    if entry is None or position.unit_price is None or entry.unit_price <= 0:
        return []
    reference = entry.unit_price
    if index:
        reference = (reference * (1 + index / 100)).quantize(PRICE)
    deviation = position.unit_price / reference - 1
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
    evidence = {
        **entry_evidence(entry),
        "deviation": str(deviation.quantize(Decimal("0.0001"))),
        "source_line": position.source_line,
    }
    if index:
        index_text = ("+" if index > 0 else "") + number_text(index)
        compared = (
            f"the reference {reference} (catalog price {entry.unit_price} of item "
            f"{entry.code} in {entry.edition or 'the catalog'}, indexed {index_text}%)"
        )
        evidence |= {"index": number_text(index), "reference_unit_price": str(reference)}
    else:
        compared = f"the catalog price {entry.unit_price} of item {entry.code}"
    return [
        Finding(
            rule="cost.deviation",
            role=ROLE,
            recommendation=recommendation,
            confidence=Decimal("0.9"),
            reasoning=f"Unit price {position.unit_price} is {why} {compared} ({percent:+}%).",
            suggested_fix=f"Justify the price or bring it near {reference}.",
            evidence=evidence,
        )
    ]
