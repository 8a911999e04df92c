"""Rows of a table (a CSV file, a spreadsheet sheet) → positions: the header row found below any
title rows, columns mapped by their header, typed rows (KROS: D section, K/M item, VV measurement
…) or plain ones, sections kept, numbers read with the file's decimal convention."""

import re
from collections.abc import Callable, Iterable, Iterator
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

HEADER_SCAN_ROWS = 40
# Rows looked at (after the header) to learn whether the file writes decimal commas.
CONVENTION_SAMPLE_ROWS = 200
ITEM_TYPES = frozenset({"K", "M"})
SECTION_TYPE = "D"
NUMERIC_FIELDS = ("quantity", "unit_price", "total_price")
_DECIMAL_COMMA = re.compile(r"\d,\d{1,2}$|\d,\d{4,}$|\d\.\d{3}(?:\.\d{3})*,\d")
_DECIMAL_POINT = re.compile(r"\d\.\d{1,2}$|\d\.\d{4,}$|\d,\d{3}(?:,\d{3})*\.\d")

Row = tuple[int, list]  # (1-based row number in the file or sheet, cells)


class NoHeader(Exception):
    """No row among the first HEADER_SCAN_ROWS names enough known columns."""


def find_header(rows: Iterator[Row]) -> tuple[Row, HeaderMap]:
    for row in islice(rows, HEADER_SCAN_ROWS):
        header = map_header([cell_to_text(cell) for cell in row[1]])
        if looks_like_header(header):
            return row, header
    raise NoHeader


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


class TableReader:
    """Reads one table. `location(n)` names row n in messages (`row 17`, `sheet "SO 01", row 17`);
    `object_code` is set for one object's sheet of a multi-object workbook."""

    def __init__(
        self,
        *,
        report: ImportReport,
        location: Callable[[int], str],
        object_code: str = "",
        default_decimal_comma: bool | None = None,
    ) -> None:
        self.report = report
        self.location = location
        self.object_code = object_code
        self.default_decimal_comma = default_decimal_comma
        self.header = HeaderMap()
        self.decimal_comma: bool | None = None
        # Section path below the object: [top level, sub level] in typed files, [heading] in plain.
        self._sections: list[str] = []

    def read(self, rows: Iterable[Row]) -> Iterator[ParsedPosition]:
        """Positions of the table. Raises NoHeader when it has no header row and ImportFailed when
        its header lacks required columns."""
        rows = iter(rows)
        (header_line, _), self.header = find_header(rows)
        missing = self.header.missing
        if missing:
            raise ImportFailed(
                "missing_columns",
                f"{self.location(header_line)}: the header row has no column "
                f"{describe_missing(missing)}.",
                found_columns=list(self.header.names.values()),
            )
        if self.header.ignored:
            self.report.notes.setdefault("ignored_columns", []).extend(self.header.ignored)
        sample = list(islice(rows, CONVENTION_SAMPLE_ROWS))
        convention = decimal_comma_convention(sample, self.header)
        self.decimal_comma = self.default_decimal_comma if convention is None else convention
        typed = "row_type" in self.header.columns
        names = list(self.header.columns)
        indexes = list(self.header.columns.values())
        pick, needed = itemgetter(*indexes), max(indexes) + 1
        for line, cells in chain(sample, rows):
            if len(cells) >= needed:
                values = dict(zip(names, pick(cells), strict=True))
            else:
                values = {
                    name: cells[i] if i < len(cells) else None
                    for name, i in zip(names, indexes, strict=True)
                }
            if not any(values.values()):
                continue
            position = self._typed_row(line, values) if typed else self._plain_row(line, values)
            if position is not None:
                yield position

    # Rows (`values`: the mapped columns' cells by field name) ------------------------------------
    def _typed_row(self, line: int, values: dict) -> ParsedPosition | None:
        row_type = cell_to_text(values["row_type"]).upper()
        if row_type == SECTION_TYPE:
            code = cell_to_text(values.get("code"))
            description = cell_to_text(values.get("description"))
            label = " - ".join(part for part in (code, description) if part)
            # KROS main groups (HSV, PSV, M, VRN …) are lettered; their parts are numbered.
            if code and not any(ch.isdigit() for ch in code):
                self._sections = [label]
            else:
                self._sections = [*self._sections[:1], label]
            return None
        if row_type not in ITEM_TYPES:
            self.report.count(f"skipped rows of type {row_type or '(none)'}")
            return None
        return self._position(line, values, category=row_type)

    def _plain_row(self, line: int, values: dict) -> ParsedPosition | None:
        if not any(_filled(values.get(name)) for name in _POSITION_MARKERS):
            # No code, unit, quantity or unit price: a heading, or a sum row when it has a total.
            if cell_to_text(values.get("total_price")):
                self.report.count("skipped summary rows")
            else:
                number = cell_to_text(values.get("position_number"))
                label = " ".join(part for part in (number, _description(values)) if part)
                self._sections = [label] if label else self._sections
            return None
        return self._position(line, values, category=cell_to_text(values.get("category")))

    def _position(self, line: int, values: dict, *, category: str) -> ParsedPosition | None:
        get, decimal_comma = values.get, self.decimal_comma
        try:
            quantity = cell_to_decimal(get("quantity"), decimal_comma=decimal_comma)
            unit_price = cell_to_decimal(get("unit_price"), decimal_comma=decimal_comma)
            total = cell_to_decimal(get("total_price"), decimal_comma=decimal_comma)
        except NotANumber:
            self._number_errors(line, values)
            return None
        if quantity is None:
            self.report.warning(self.location(line), "no quantity", self.header.names["quantity"])
        if total is None and quantity is not None and unit_price is not None:
            total = round_money(quantity * unit_price)
            self.report.count("totals computed as quantity × unit price")
        section = cell_to_text(get("section")) or " / ".join(self._sections)
        if self.object_code:
            section = f"{self.object_code} / {section}" if section else self.object_code
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
        )

    def _number_errors(self, line: int, values: dict) -> None:
        """Report every cell of the row that is not a number."""
        for name in NUMERIC_FIELDS:
            raw = values.get(name)
            try:
                cell_to_decimal(raw, decimal_comma=self.decimal_comma)
            except NotANumber:
                self.report.error(
                    self.location(line),
                    f'"{cell_to_text(raw)}" is not a number',
                    self.header.names[name],
                )


_POSITION_MARKERS = ("code", "unit", "quantity", "unit_price")


def _filled(cell: object) -> bool:
    return cell is not None and (cell.strip() != "" if cell.__class__ is str else True)


def _description(values: dict) -> str:
    return " ".join(cell_to_text(values.get("description")).split())
