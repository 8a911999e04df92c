from collections import Counter
from decimal import Decimal

from audits.rules.types import AuditPosition, Finding, Recommendation

ROLE = "duplicates"


def _signature(position: AuditPosition) -> tuple:
    return (
        position.code,
        position.description,
        position.unit,
        position.quantity,
        position.unit_price,
    )


def check_all(positions: list[AuditPosition]) -> dict[str, list[Finding]]:
    """AMBER on every position that has a twin (same code, description, unit, quantity, price)."""
    counts = Counter(_signature(p) for p in positions)
    return {
        p.id: [
            Finding(
                rule="duplicates.same_item",
                role=ROLE,
                recommendation=Recommendation.AMBER,
                confidence=Decimal("0.7"),
                reasoning=(
                    f"{counts[_signature(p)] - 1} other position(s) have the same code, "
                    "description, unit, quantity and unit price."
                ),
                suggested_fix="Remove the duplicate, or tell the positions apart.",
                evidence={"source_line": p.source_line},
            )
        ]
        for p in positions
        if counts[_signature(p)] > 1
    }
