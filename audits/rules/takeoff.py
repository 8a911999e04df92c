"""A quantity against its own take-off (výkaz výměr): the lines' result, lines that do not parse,
and (where the policy asks) a quantity typed in without any take-off."""

from collections.abc import Iterator
from decimal import Decimal

from audits.rules.concentration import is_lump_sum
from audits.rules.context import AuditContext
from audits.rules.expressions import evaluate_takeoff
from audits.rules.types import (
    AuditPosition,
    Finding,
    Policy,
    Recommendation,
    RuleInfo,
    number_text,
)

ROLE = "takeoff"
RULES = {
    "takeoff.mismatch": RuleInfo(
        "The quantity differs from its take-off lines' result beyond the tolerances: amber, or "
        "red beyond the red share."
    ),
    "takeoff.unparsable": RuleInfo(
        "A take-off line is not an expression that can be computed: amber."
    ),
    "takeoff.missing": RuleInfo(
        "A quantity without any take-off line (lump sums aside): amber.", default=False
    ),
}
SHOWN_PROBLEMS = 3
MICRO = Decimal("0.000001")


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if not context.on(*RULES):
        return
    enabled, policy = context.enabled, context.policy
    missing = "takeoff.missing" in enabled
    for position in context.positions:
        if position.takeoff:
            for finding in check(position, policy):
                if finding.rule in enabled:
                    yield position.id, finding
        elif missing and position.quantity is not None and not is_lump_sum(position):
            yield position.id, _missing(position, position.quantity)


def check(position: AuditPosition, policy: Policy) -> list[Finding]:
    result = evaluate_takeoff(position.takeoff)
    found = []
    if result.problems:
        shown = "; ".join(
            f"line {p['line']} {p['expression']!r}: {p['problem']}"
            for p in result.problems[:SHOWN_PROBLEMS]
        )
        more = len(result.problems) - SHOWN_PROBLEMS
        found.append(
            Finding(
                rule="takeoff.unparsable",
                role=ROLE,
                recommendation=Recommendation.AMBER,
                confidence=Decimal("0.9"),
                reasoning=f"The take-off cannot be computed: {shown}"
                + (f" (and {more} more)." if more > 0 else "."),
                suggested_fix="Write the take-off line as an expression (numbers, + − × ÷, "
                "parentheses), with words in quotes.",
                evidence={
                    "takeoff_problems": result.problems[:20],
                    "source_line": position.source_line,
                },
            )
        )
    if result.total is None or position.quantity is None:
        return found
    total, quantity = result.total, position.quantity
    difference = quantity - total
    size = abs(difference)
    if size <= max(policy.takeoff_abs_tolerance, abs(total) * policy.takeoff_amber_above):
        return found
    red = size > max(policy.takeoff_abs_tolerance, abs(total) * policy.takeoff_red_above)
    share = f" ({difference / total * 100:+.1f} %)" if total else ""
    computed = _plain(total)
    lines = [entry.get("line") for entry in position.takeoff]
    found.append(
        Finding(
            rule="takeoff.mismatch",
            role=ROLE,
            recommendation=Recommendation.RED if red else Recommendation.AMBER,
            confidence=Decimal("0.95"),
            reasoning=(
                f"Quantity {_plain(quantity)} differs from its take-off's result {computed} "
                f"({result.lines} line(s)) by {_plain(difference)}{share}."
            ),
            suggested_fix=f"Set the quantity to {computed}, or correct the take-off.",
            evidence={
                "quantity": str(quantity),
                "takeoff_result": computed,
                "difference": _plain(difference),
                "takeoff_lines": lines,
                "source_line": position.source_line,
            },
        )
    )
    return found


def _missing(position: AuditPosition, quantity: Decimal) -> Finding:
    return Finding(
        rule="takeoff.missing",
        role=ROLE,
        recommendation=Recommendation.AMBER,
        confidence=Decimal("0.6"),
        reasoning=f"Quantity {_plain(quantity)} is typed in without any take-off line.",
        suggested_fix="Add the take-off that gives the quantity.",
        evidence={"source_line": position.source_line},
    )


def _plain(value: Decimal) -> str:
    """A quantity as people write it: at most six places, no trailing zeros."""
    return number_text(value.quantize(MICRO))
