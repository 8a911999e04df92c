from collections.abc import Iterator
from decimal import Decimal

from audits.rules.context import AuditContext
from audits.rules.types import AuditPosition, Finding, Recommendation, RuleInfo

ROLE = "validation"
RULES = {
    "validation.required_fields": RuleInfo(
        "An empty description or unit, or a quantity of zero or below: red."
    )
}


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if context.on(*RULES):
        for position in context.positions:
            for finding in check(position):
                yield position.id, finding


def check(position: AuditPosition) -> list[Finding]:
    problems = []
    if not position.description.strip():
        problems.append("the description is empty")
    if not position.unit.strip():
        problems.append("the unit is empty")
    if position.quantity is None or position.quantity <= 0:
        problems.append(f"the quantity is {position.quantity}, not above zero")
    if not problems:
        return []
    return [
        Finding(
            rule="validation.required_fields",
            role=ROLE,
            recommendation=Recommendation.RED,
            confidence=Decimal("1"),
            reasoning="; ".join(problems).capitalize() + ".",
            suggested_fix="Complete the description and unit and give a positive quantity.",
            evidence={"source_line": position.source_line},
        )
    ]
