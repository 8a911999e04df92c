"""Where the money sits: a few positions carrying most of the budget, and the lump sums' share."""

import heapq
from collections.abc import Iterator
from decimal import Decimal
from operator import itemgetter

from audits.rules.context import AuditContext
from audits.rules.types import AuditPosition, Finding, Recommendation, RuleInfo
from projects.units import normalise_unit

ROLE = "cost"
RULES = {
    "concentration.top_positions": RuleInfo(
        "The few dearest positions carry more than the policy's share of the total: amber on "
        "each of them (budgets of at least ten times as many priced positions).",
        default=False,
    ),
    "concentration.lump_sums": RuleInfo(
        "Lump sums (kind lump sum, or a unit of soubor/kpl) carry more than the policy's share "
        "of the total: amber on each, or red above the red share.",
        default=False,
    ),
}
LUMP_SUM_UNIT = normalise_unit("soubor")
SHARE = Decimal("0.001")


def is_lump_sum(position: AuditPosition) -> bool:
    return position.kind == "lump_sum" or normalise_unit(position.unit) == LUMP_SUM_UNIT


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if not context.on(*RULES):
        return
    # (position, its total) of the positions whose totals count.
    counted = [
        (p, p.total_price)
        for p in context.positions
        if p.total_price is not None and p.kind not in context.not_counted
    ]
    total = sum((amount for _, amount in counted), Decimal(0))
    if total <= 0:
        return
    if context.on("concentration.top_positions"):
        yield from _top_positions(context, counted, total)
    if context.on("concentration.lump_sums"):
        yield from _lump_sums(context, counted, total)


def _top_positions(
    context: AuditContext, counted: list[tuple[AuditPosition, Decimal]], total: Decimal
) -> Iterator[tuple[str, Finding]]:
    count = context.policy.concentration_top_count
    priced = [(p, amount) for p, amount in counted if amount > 0]
    if len(priced) < 10 * count:
        return
    top = heapq.nlargest(count, priced, key=itemgetter(1))
    share = sum((amount for _, amount in top), Decimal(0)) / total
    if share <= context.policy.concentration_share:
        return
    for position, amount in top:
        own = amount / total
        yield (
            position.id,
            Finding(
                rule="concentration.top_positions",
                role=ROLE,
                recommendation=Recommendation.AMBER,
                confidence=Decimal("0.5"),
                reasoning=(
                    f"The {count} dearest positions carry {share * 100:.1f} % of the budget's "
                    f"total {total:.2f}, this one {own * 100:.1f} %: check their quantities and "
                    "prices first."
                ),
                suggested_fix="Check the quantity and unit price of this position.",
                evidence={
                    "top_count": count,
                    "share": str(share.quantize(SHARE)),
                    "position_share": str(own.quantize(SHARE)),
                    "budget_total": str(total),
                    "source_line": position.source_line,
                },
            ),
        )


def _lump_sums(
    context: AuditContext, counted: list[tuple[AuditPosition, Decimal]], total: Decimal
) -> Iterator[tuple[str, Finding]]:
    policy = context.policy
    lumps = [(p, amount) for p, amount in counted if is_lump_sum(p)]
    lump_total = sum((amount for _, amount in lumps), Decimal(0))
    share = lump_total / total
    if share <= policy.lump_sum_amber_share:
        return
    red = share > policy.lump_sum_red_share
    limit = policy.lump_sum_red_share if red else policy.lump_sum_amber_share
    for position, amount in lumps:
        yield (
            position.id,
            Finding(
                rule="concentration.lump_sums",
                role=ROLE,
                recommendation=Recommendation.RED if red else Recommendation.AMBER,
                confidence=Decimal("0.6"),
                reasoning=(
                    f"{len(lumps)} lump sum(s) carry {share * 100:.1f} % of the budget's total "
                    f"{total:.2f} ({lump_total:.2f}), above {limit * 100:.1f} %: this one "
                    f"{amount}."
                ),
                suggested_fix="Break the lump sum down into measured positions.",
                evidence={
                    "lump_sum_total": str(lump_total),
                    "budget_total": str(total),
                    "share": str(share.quantize(SHARE)),
                    "lump_sums": len(lumps),
                    "source_line": position.source_line,
                },
            ),
        )
