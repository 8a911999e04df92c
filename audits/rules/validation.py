from decimal import Decimal

from audits.rules.types import AuditPosition, Finding, Recommendation

ROLE = "validation"


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
