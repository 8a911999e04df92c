"""Rows of a table (a CSV file, a spreadsheet sheet) → positions: what every layout shares.

The header row is found wherever it is, by what it says (not by a fixed depth): the first row
naming enough known columns, the required ones among them. The rows above it (a cover sheet, a
recapitulation) stay available to the layout, which may read declared totals from them. Which
layout reads the rows below (plain, KROS, RTS, ASPE, Kalkula's own export) is decided by
`projects.importers.layouts` from the header and a sample of the rows; this module holds the base
class (`Table`, which reads a plain table: every row with a code, unit, quantity or price is a
position; rows without are headings or sum rows) and the helpers the layouts share.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice
from operator import itemgetter

from projects.importers.base import (
    ImportFailed,
    ImportReport,
    NotANumber,
    ParsedPosition,
    cell_to_decimal,
    cell_to_text,
    round_money,
)
from projects.importers.headers import HeaderMap, describe_missing, looks_like_header, map_header

# How deep price catalogs (projects.importers.catalog) look for their header; budgets look
# everywhere.
HEADER_SCAN_ROWS = 40
# Rows looked at (after the header) to learn the decimal convention and the layout.
CONVENTION_SAMPLE_ROWS = 200
# Rows above the header kept for the layout (cover sheets, recapitulations: ~140 rows at most).
ABOVE_ROWS_KEPT = 400
NUMERIC_FIELDS = ("quantity", "unit_price", "total_price")
_DECIMAL_COMMA = re.compile(r"\d,\d{1,2}$|\d,\d{4,}$|\d\.\d{3}(?:\.\d{3})*,\d")
_DECIMAL_POINT = re.compile(r"\d\.\d{1,2}$|\d\.\d{4,}$|\d,\d{3}(?:,\d{3})*\.\d")

Row = tuple[int, list]  # (1-based row number in the file or sheet, cells)


class NoHeader(Exception):
    """No row of the table names the required columns. `near` is the first row that named
    enough known columns but lacked a required one (its line and mapping), if any."""

    def __init__(self, near: tuple[int, HeaderMap] | None = None) -> None:
        super().__init__()
        self.near = near

    def explain(self) -> str:
        if self.near is None:
            return (
                "no header row (expected columns such as Description, Unit, Quantity: "
                "Popis, MJ, Množství; Beschreibung, Einheit, Menge)"
            )
        line, header = self.near
        return f"the header row {line} has no column {describe_missing(header.missing)}"


@dataclass
class Found:
    """Where a table's header is, what it maps, and the rows above it."""

    line: int
    header: HeaderMap
    above: list[Row] = field(default_factory=list)


def find_header(rows: Iterator[Row]) -> Found:
    """The first row naming enough known columns, the required ones among them, anywhere in the
    table. Raises NoHeader (naming the best near miss) when there is none."""
    above: list[Row] = []
    near = None
    for row in rows:
        cells = row[1]
        if sum(1 for cell in cells if cell.__class__ is str and cell.strip()) >= 3:
            header = map_header([cell_to_text(cell) for cell in cells])
            if looks_like_header(header):
                if not header.missing:
                    return Found(row[0], header, above)
                near = near or (row[0], header)
        if len(above) < ABOVE_ROWS_KEPT:
            above.append(row)
    raise NoHeader(near)


def decimal_comma_convention(rows: list[Row], header: HeaderMap) -> bool | None:
    """True when the sample writes decimal commas, False for points, None if it can't tell."""
    commas = points = 0
    for _, cells in rows:
        for name in NUMERIC_FIELDS:
            index = header.columns.get(name)
            if index is None or index >= len(cells) or not isinstance(cells[index], str):
                continue
            value = cells[index].strip()
            commas += bool(_DECIMAL_COMMA.search(value))
            points += bool(_DECIMAL_POINT.search(value))
    if commas == points:
        return None
    return commas > points


def merge_subheader(found: Found, row: Row) -> bool:
    """Add the columns a second header row names below the first (ASPE: `Dodávka` over
    `Jednotková`, `Celkem`); True when the row was such a header row."""
    cells = row[1]
    if any(cell is not None and cell.__class__ is not str for cell in cells):
        return False  # a number: a data row
    extra = map_header([cell_to_text(cell) for cell in cells])
    new = {name: index for name, index in extra.columns.items() if name not in found.header.columns}
    taken = set(found.header.columns.values())
    if not new or any(index in taken for index in new.values()):
        return False
    for name, index in new.items():
        found.header.columns[name] = index
        found.header.names[name] = extra.names[name]
    return True


def cell(cells: list, index: int | None) -> object:
    return cells[index] if index is not None and index < len(cells) else None


def text(cells: list, index: int | None) -> str:
    return cell_to_text(cells[index]) if index is not None and index < len(cells) else ""


def decimal_text(value: Decimal | None) -> str | None:
    """A number as plain decimal text (no exponent, no trailing zeros): take-off values."""
    if value is None:
        return None
    normalised = value.normalize()
    return format(normalised if normalised else Decimal(0), "f")


def code_of(label: str) -> str:
    """`SO 1 - Dům (RD Valcha)` → `SO 1`; `HSV - Práce a dodávky HSV` → `HSV`."""
    return label.split(" - ", 1)[0].strip()


class BadRow(Exception):
    """A row had cells that are not numbers (reported as errors)."""


class Table:
    """Reads one table below its header. Subclasses read the typed layouts; this class reads a
    plain table. `location(n)` names row n in messages (`row 17`, `sheet "SO 01", row 17`)."""

    layout = "plain"

    def __init__(
        self,
        *,
        report: ImportReport,
        location: Callable[[int], str],
        found: Found,
        sample: list[Row],
        rows: Iterator[Row],
        decimal_comma: bool | None,
        sheet_name: str = "",
    ) -> None:
        self.report = report
        self.location = location
        self.found = found
        self.header = found.header
        self.columns = found.header.columns
        self.sample = sample
        self.rest = rows
        self.decimal_comma = decimal_comma
        self.sheet_name = sheet_name
        # The object (building part) the table is about: part of each position's identity. A
        # layout that names its object itself (a KROS cover, an RTS `O:` row) sets `own_object`;
        # otherwise the workbook reader gives the sheet's name when there are several bills.
        self.object_code = ""
        self.object_label = ""
        self.own_object = False
        # Section path below the object: [top level, sub level] in typed files, [heading] in plain.
        self._sections: list[str] = []
        self._parts: list[str] = []

    def prepare(self) -> None:
        """Learn what the rows above the header say (the object), before the rows are read."""

    def rows(self) -> Iterator[Row]:
        return chain(self.sample, self.rest)

    def positions(self) -> Iterator[ParsedPosition]:
        """The positions of a plain table."""
        if self.header.ignored:
            self.report.notes.setdefault("ignored_columns", []).extend(self.header.ignored)
        names = list(self.columns)
        indexes = list(self.columns.values())
        pick, needed = itemgetter(*indexes), max(indexes) + 1
        for line, cells in self.rows():
            if len(cells) >= needed:
                values = dict(zip(names, pick(cells), strict=True))
            else:
                values = {
                    name: cells[i] if i < len(cells) else None
                    for name, i in zip(names, indexes, strict=True)
                }
            if not any(values.values()):
                continue
            position = self._plain_row(line, values)
            if position is not None:
                yield position

    # Shared by the layouts --------------------------------------------------------------------
    def section_path(self) -> str:
        parts = [self.object_label] if self.object_label else []
        return " / ".join([*parts, *self._sections])

    def numbers(self, line: int, values: dict, names: Iterable[str] = NUMERIC_FIELDS) -> list:
        """The named cells of `values` as Decimals; BadRow (every bad cell reported) if any is
        not a number."""
        comma = self.decimal_comma
        try:
            return [cell_to_decimal(values.get(name), decimal_comma=comma) for name in names]
        except NotANumber:
            self._number_errors(line, values, names)
            raise BadRow from None

    def _number_errors(self, line: int, values: dict, names: Iterable[str]) -> None:
        """Report every cell of the row that is not a number."""
        for name in names:
            raw = values.get(name)
            try:
                cell_to_decimal(raw, decimal_comma=self.decimal_comma)
            except NotANumber:
                self.report.error(
                    self.location(line),
                    f'"{cell_to_text(raw)}" is not a number',
                    self.header.names.get(name, name),
                )

    def values_of(self, cells: list, names: Iterable[str]) -> dict:
        columns = self.columns
        return {name: cell(cells, columns.get(name)) for name in names}

    def declare(self, part: str, amount_cell: object, line: int) -> None:
        """The file declares the total of `part` (of this table's object; "" the whole)."""
        try:
            amount = cell_to_decimal(amount_cell, decimal_comma=self.decimal_comma)
        except NotANumber:
            self.report.warning(
                self.location(line), f'the declared total "{cell_to_text(amount_cell)}" is not a '
                "number: not checked"
            )  # fmt: skip
            return
        self.report.declare(self.object_code, part, amount)

    # Plain rows --------------------------------------------------------------------------------
    def _plain_row(self, line: int, values: dict) -> ParsedPosition | None:
        get = values.get
        if not (_filled(get("code"), get("unit"), get("quantity"), get("unit_price"))):
            # No code, unit, quantity or unit price: a heading, or a sum row when it has a total.
            if cell_to_text(values.get("total_price")):
                self.report.count("skipped summary rows")
            else:
                number = cell_to_text(values.get("position_number"))
                label = " ".join(part for part in (number, _description(values)) if part)
                self._sections = [label] if label else self._sections
            return None
        return self._position(line, values, category=cell_to_text(values.get("category")))

    def _position(
        self, line: int, values: dict, *, category: str, kind: str = ""
    ) -> ParsedPosition | None:
        get = values.get
        comma = self.decimal_comma
        try:  # self.numbers(line, values), spelled out: it runs for every row
            quantity = cell_to_decimal(get("quantity"), decimal_comma=comma)
            unit_price = cell_to_decimal(get("unit_price"), decimal_comma=comma)
            total = cell_to_decimal(get("total_price"), decimal_comma=comma)
        except NotANumber:
            self._number_errors(line, values, NUMERIC_FIELDS)
            return None
        if quantity is None:
            self.report.warning(self.location(line), "no quantity", self.header.names["quantity"])
        if total is None and quantity is not None and unit_price is not None:
            total = round_money(quantity * unit_price)
            self.report.count("totals computed as quantity × unit price")
        section = cell_to_text(get("section")) or " / ".join(self._sections)
        if self.object_label and not self.own_object:
            section = f"{self.object_label} / {section}" if section else self.object_label
        return ParsedPosition(
            line,
            cell_to_text(get("position_number")),
            cell_to_text(get("code")),
            _description(values),
            category,
            cell_to_text(get("unit")),
            quantity,
            unit_price,
            total,
            section,
            self.object_code,
            self.location,
            kind=kind,
            price_system=cell_to_text(get("price_system")),
            parts=tuple(self._parts),
        )


def _filled(*cells: object) -> bool:
    """Whether any of the cells holds something (text other than spaces, a number, …)."""
    for cell in cells:  # spelled out: it runs for every row
        if cell is not None and (cell.__class__ is not str or cell.strip() != ""):
            return True
    return False


def _description(values: dict) -> str:
    return " ".join(cell_to_text(values.get("description")).split())


def open_table(
    rows: Iterable[Row],
    *,
    report: ImportReport,
    location: Callable[[int], str],
    choose: Callable[..., type[Table]],
    default_decimal_comma: bool | None = None,
    sheet_name: str = "",
) -> Table:
    """The table's header found, its layout chosen by `choose(found, sample, sheet_name)`, ready
    to read. Raises NoHeader."""
    rows = iter(rows)
    found = find_header(rows)
    sample = list(islice(rows, CONVENTION_SAMPLE_ROWS))
    if sample and merge_subheader(found, sample[0]):
        sample = sample[1:]
    convention = decimal_comma_convention(sample, found.header)
    layout = choose(found, sample, sheet_name)
    table = layout(
        report=report,
        location=location,
        found=found,
        sample=sample,
        rows=rows,
        decimal_comma=default_decimal_comma if convention is None else convention,
        sheet_name=sheet_name,
    )
    table.prepare()
    return table


def missing_columns(where: str, header: HeaderMap) -> ImportFailed:
    return ImportFailed(
        "missing_columns",
        f"{where}: the header row has no column {describe_missing(header.missing)}.",
        found_columns=list(header.names.values()),
    )
