from decimal import Decimal

from audits.rules.types import AuditPosition, CatalogEntry, Finding, Recommendation
from projects.units import normalise_unit

ROLE = "catalog"


def entry_evidence(entry: CatalogEntry) -> dict:
    return {
        "catalog_item": entry.id,
        "catalog": entry.catalog_id,
        "catalog_version": entry.catalog_version,
        "catalog_code": entry.code,
        "catalog_unit": entry.unit,
        "catalog_unit_price": str(entry.unit_price),
    }


def check(position: AuditPosition, entry: CatalogEntry | None) -> list[Finding]:
    if entry is None:
        return [
            Finding(
                rule="catalog.unknown_code",
                role=ROLE,
                recommendation=Recommendation.AMBER,
                confidence=Decimal("0.8"),
                reasoning=f"Code {position.code or '(none)'} is not in the price catalog.",
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
