"""The same code at different unit prices within one budget.

Where most of a code's positions share one price, the others are the ones to look at; where no
price holds a majority, every position of the code is."""

from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal

from audits.rules.context import AuditContext
from audits.rules.types import AuditPosition, Finding, Recommendation, RuleInfo
from projects.units import normalise_unit

ROLE = "cost"
RULES = {
    "consistency.code_prices": RuleInfo(
        "Positions with the same code and unit whose unit prices lie further apart than the "
        "policy's tolerance (highest / lowest − 1): amber on the positions off the price most of "
        "them share, or on each when no price holds a majority.",
        default=False,
    )
}
SHOWN_PRICES = 5


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if not context.on(*RULES):
        return
    # (position, its unit price) by code and unit.
    groups: dict[tuple[str, str], list[tuple[AuditPosition, Decimal]]] = defaultdict(list)
    for p in context.positions:
        if p.code and p.unit_price is not None and p.kind not in context.not_counted:
            groups[(p.code, normalise_unit(p.unit))].append((p, p.unit_price))
    tolerance = context.policy.code_price_tolerance
    for (code, _unit), members in groups.items():
        if len(members) < 2:
            continue
        prices = Counter(price for _, price in members)
        low, high = min(prices), max(prices)
        if len(prices) < 2 or (low > 0 and high / low - 1 <= tolerance):
            continue
        common = prices.most_common()
        majority: Decimal | None
        majority, majority_count = common[0]
        if majority_count * 2 <= len(members):
            majority = None  # no price most of them share: every one is in question
        listed = ", ".join(f"{price} (×{count})" for price, count in common[:SHOWN_PRICES])
        more = f" and {len(prices) - SHOWN_PRICES} more" if len(prices) > SHOWN_PRICES else ""
        spread = str((high / low - 1).quantize(Decimal("0.0001"))) if low > 0 else None
        for p, price in members:
            if majority is not None and not _apart(price, majority, tolerance):
                continue
            yield (
                p.id,
                Finding(
                    rule="consistency.code_prices",
                    role=ROLE,
                    recommendation=Recommendation.AMBER,
                    confidence=Decimal("0.7"),
                    reasoning=(
                        f"Code {code} has {len(prices)} unit prices in this budget: "
                        f"{listed}{more}; this one {price}."
                    ),
                    suggested_fix="Price the same item the same way, or tell the items apart.",
                    evidence={
                        "code": code,
                        "prices": {str(price): count for price, count in common[:20]},
                        "majority_price": None if majority is None else str(majority),
                        "distinct_prices": len(prices),
                        "spread": spread,
                        "positions": len(members),
                        "source_line": p.source_line,
                    },
                ),
            )


def _apart(price: Decimal, majority: Decimal, tolerance: Decimal) -> bool:
    low, high = min(price, majority), max(price, majority)
    return low <= 0 or high / low - 1 > tolerance
