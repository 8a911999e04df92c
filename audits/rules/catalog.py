from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from audits.rules.context import AuditContext
from audits.rules.references import Resolved
from audits.rules.types import AuditPosition, CatalogEntry, Finding, Recommendation, RuleInfo
from projects.units import normalise_unit

ROLE = "catalog"
RULES = {
    "catalog.unknown_code": RuleInfo("The code is not in the edition it is compared with: amber."),
    "catalog.unit_mismatch": RuleInfo("The unit differs from the catalog item's unit: red."),
    "catalog.edition_missing": RuleInfo(
        "The position is priced on an edition the tenant has not imported: amber, and its price "
        "is not compared."
    ),
}


def entry_evidence(entry: CatalogEntry) -> dict[str, Any]:
    return {
        "catalog_item": entry.id,
        "catalog": entry.catalog_id,
        "catalog_version": entry.catalog_version,
        "catalog_edition": entry.edition,
        "catalog_code": entry.code,
        "catalog_unit": entry.unit,
        "catalog_unit_price": str(entry.unit_price),
    }


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if not context.on(*RULES):
        return
    enabled = context.enabled
    for position, resolved in zip(context.positions, context.resolved, strict=True):
        for finding in check(position, resolved):
            if finding.rule in enabled:
                yield position.id, finding


def check(position: AuditPosition, resolved: Resolved) -> list[Finding]:
    if resolved.missing:
        return [
            Finding(
                rule="catalog.edition_missing",
                role=ROLE,
                recommendation=Recommendation.AMBER,
                confidence=Decimal("0.9"),
                reasoning=(
                    f"The position is priced on {resolved.missing}, an edition this tenant has "
                    "not imported: its price is not compared with any catalog."
                ),
                suggested_fix=(
                    f"Import the {resolved.missing} edition, or audit against a chosen edition "
                    "with a price index."
                ),
                evidence={"price_system": resolved.missing, "source_line": position.source_line},
            )
        ]
    if resolved.entries is None:
        return []  # no catalog to compare with
    entry = resolved.entry
    if entry is None:
        edition = next(iter(resolved.entries.values()), None)
        where = f" edition {edition.edition}" if edition is not None and edition.edition else ""
        return [
            Finding(
                rule="catalog.unknown_code",
                role=ROLE,
                recommendation=Recommendation.AMBER,
                confidence=Decimal("0.8"),
                reasoning=f"Code {position.code or '(none)'} is not in the price catalog{where}.",
                suggested_fix="Check the code against the catalog, or price the item by hand.",
                evidence={"source_line": position.source_line},
            )
        ]
    if normalise_unit(position.unit) != normalise_unit(entry.unit):
        return [
            Finding(
                rule="catalog.unit_mismatch",
                role=ROLE,
                recommendation=Recommendation.RED,
                confidence=Decimal("0.95"),
                reasoning=(
                    f"Unit {position.unit!r} differs from the catalog unit {entry.unit!r} "
                    f"of item {entry.code}."
                ),
                suggested_fix=f"Measure the item in {entry.unit} and convert the quantity.",
                evidence={**entry_evidence(entry), "source_line": position.source_line},
            )
        ]
    return []
