"""Budget exports: one module per format, each streaming rows to a binary file."""

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
    "Kind",
]

# A spreadsheet runs a text cell that starts like this as a formula (CSV/formula injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_text(value: str) -> str:
    """Make user text inert in spreadsheets: a leading apostrophe shows it as typed."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


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
    # The item kind (GAEB alternative, contingency, markup…; K/M rows): "" a plain item.
    kind: str = ""

    def cells(self) -> list[str | Decimal | None]:
        """Text escaped, numbers kept as exact Decimals (a number is never a formula)."""
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
            self.kind,
        ]


Rows = Iterable[ExportRow]
