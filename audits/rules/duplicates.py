import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal

from audits.rules.context import AuditContext, object_of
from audits.rules.types import AuditPosition, Finding, Recommendation, RuleInfo
from projects.units import normalise_unit

ROLE = "duplicates"
RULES = {
    "duplicates.same_item": RuleInfo(
        "Positions with the same code, description, unit, quantity and unit price: amber on each."
    ),
    "duplicates.across_objects": RuleInfo(
        "Positions in different objects with the same code and quantity, or the same normalised "
        "description and unit under another code: amber on each.",
        default=False,
    ),
}
SHOWN_OBJECTS = 5
_NOT_WORDS = re.compile(r"[\W_]+")


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if context.on("duplicates.same_item"):
        for position_id, findings in check_all(list(context.positions)).items():
            for finding in findings:
                yield position_id, finding
    if context.on("duplicates.across_objects"):
        yield from across_objects(context.positions)


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


@functools.lru_cache(maxsize=65536)  # the same item recurs in every object
def normalised_description(text: str) -> str:
    """Case, punctuation and spacing aside: `Beton  C25/30, základy.` = `beton c25 30 základy`."""
    return _NOT_WORDS.sub(" ", text.casefold()).strip()


def across_objects(positions: Sequence[AuditPosition]) -> Iterator[tuple[str, Finding]]:
    """AMBER on positions of different objects that look like one item entered twice: the same
    code and quantity, or the same normalised description and unit under another code (the same
    code in several objects with other quantities is how multi-object budgets are made)."""
    by_code: dict[tuple, list[AuditPosition]] = defaultdict(list)
    by_text: dict[tuple, list[AuditPosition]] = defaultdict(list)
    for p in positions:
        if p.code and p.quantity is not None:
            by_code[(p.code, p.quantity)].append(p)
        if p.description:
            by_text[(normalised_description(p.description), normalise_unit(p.unit))].append(p)
    found: dict[str, tuple[str, list[str], int]] = {}
    for signature, groups in (("code and quantity", by_code), ("description and unit", by_text)):
        any_code = signature == "code and quantity"  # else the others must have another code
        for key, members in groups.items():
            if len(members) < 2 or not key[0]:
                continue
            if not any_code and all(p.code == members[0].code for p in members):
                continue  # one item, one code: a multi-object budget, not a duplicate
            # object → how many members of each code it holds
            codes: dict[str, Counter] = defaultdict(Counter)
            for p in members:
                codes[object_of(p.section)][p.code] += 1
            if len(codes) < 2:
                continue
            for p in members:
                if p.id in found:
                    continue  # one finding a position, by the first signature that fits
                place = object_of(p.section)
                objects, count = [], 0
                for other, held in codes.items():
                    if other == place:
                        continue
                    matching = sum(held.values()) if any_code else sum(held.values()) - held[p.code]
                    if matching:
                        objects.append(other)
                        count += matching
                if objects:
                    found[p.id] = (signature, sorted(objects), count)
    for p in positions:
        if p.id not in found:
            continue
        signature, others, count = found[p.id]
        shown = ", ".join(others[:SHOWN_OBJECTS]) + (" …" if len(others) > SHOWN_OBJECTS else "")
        yield (
            p.id,
            Finding(
                rule="duplicates.across_objects",
                role=ROLE,
                recommendation=Recommendation.AMBER,
                confidence=Decimal("0.5"),
                reasoning=(
                    f"{count} position(s) in other objects ({shown}) have the same {signature}: "
                    "the item may be entered twice."
                ),
                suggested_fix="Remove the duplicate, or tell the positions apart.",
                evidence={
                    "signature": signature,
                    "object": object_of(p.section),
                    "other_objects": others[:20],
                    "others": count,
                    "source_line": p.source_line,
                },
            ),
        )
