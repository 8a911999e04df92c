from collections.abc import Iterator
from decimal import Decimal

from audits.rules.context import AuditContext
from audits.rules.types import AuditPosition, Finding, Policy, Recommendation, RuleInfo

ROLE = "arithmetic"
CENT = Decimal("0.01")
RULES = {
    "arithmetic.total": RuleInfo(
        "The total differs from quantity × unit price by more than the tolerances: red."
    )
}


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if context.on(*RULES):
        policy = context.policy
        for position in context.positions:
            for finding in check(position, policy):
                yield position.id, finding


def check(position: AuditPosition, policy: Policy) -> list[Finding]:
    if position.quantity is None or position.unit_price is None or position.total_price is None:
        return []  # an unpriced position has nothing to recompute
    expected = position.quantity * position.unit_price
    tolerance = max(
        policy.arithmetic_abs_tolerance, abs(expected) * policy.arithmetic_rel_tolerance
    )
    difference = position.total_price - expected
    if abs(difference) <= tolerance:
        return []
    expected_total = expected.quantize(CENT)
    return [
        Finding(
            rule="arithmetic.total",
            role=ROLE,
            recommendation=Recommendation.RED,
            confidence=Decimal("1"),
            reasoning=(
                f"Total {position.total_price} differs from quantity × unit price "
                f"({position.quantity} × {position.unit_price} = {expected_total}) by "
                f"{difference.quantize(CENT)}, more than the tolerance {tolerance.quantize(CENT)}."
            ),
            suggested_fix=f"Set the total to {expected_total}.",
            evidence={"expected_total": str(expected_total), "source_line": position.source_line},
        )
    ]
