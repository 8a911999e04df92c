"""Budget exports: one module per format, each streaming rows to a binary file.

The columns carry everything a position says (its content fields and line key), so the file
imports back losslessly (projects.importers.kalkula): exporting a version and importing the file
into the same project changes nothing; changing 3 unit prices in Excel modifies exactly those 3.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

COLUMNS = [
    "Section",
    "Item",
    "Code",
    "Description",
    "Unit",
    "Quantity",
    "Unit price",
    "Total",
    "Status",
    "Findings",
    "Category",
    "Row type",
    "Price system",
    "Material unit price",
    "Assembly unit price",
    "Long text",
    "Take-off",
    "Line key",
]

# A spreadsheet runs a text cell that starts like this as a formula (CSV/formula injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_text(value: str) -> str:
    """Make user text inert in spreadsheets: a leading apostrophe shows it as typed. Text that
    starts with apostrophes before such a character gets one more, so `unescape_text` gives
    every text back exactly."""
    if value.startswith(_FORMULA_STARTS) or (
        value.startswith("'") and value.lstrip("'").startswith(_FORMULA_STARTS)
    ):
        return "'" + value
    return value


def unescape_text(value: str) -> str:
    """The text `escape_text` was given."""
    if value.startswith("'") and value.lstrip("'").startswith(_FORMULA_STARTS):
        return value[1:]
    return value


@dataclass(frozen=True)
class ExportRow:
    section: str
    position_number: str
    code: str
    description: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    total_price: Decimal | None
    status: str
    findings: str
    category: str = ""
    kind: str = ""
    price_system: str = ""
    material_unit_price: Decimal | None = None
    assembly_unit_price: Decimal | None = None
    long_text: str = ""
    takeoff: list | str | None = None
    line_key: str = ""

    def cells(self) -> list[str | Decimal | None]:
        """Text escaped, numbers kept as exact Decimals (a number is never a formula)."""
        takeoff = self.takeoff
        if not isinstance(takeoff, str):
            takeoff = json.dumps(takeoff, ensure_ascii=False) if takeoff else ""
        return [
            escape_text(self.section),
            escape_text(self.position_number),
            escape_text(self.code),
            escape_text(self.description),
            escape_text(self.unit),
            self.quantity,
            self.unit_price,
            self.total_price,
            self.status,
            escape_text(self.findings),
            escape_text(self.category),
            escape_text(self.kind),
            escape_text(self.price_system),
            self.material_unit_price,
            self.assembly_unit_price,
            escape_text(self.long_text),
            escape_text(takeoff if takeoff not in ("[]",) else ""),
            escape_text(self.line_key),
        ]


Rows = Iterable[ExportRow]
