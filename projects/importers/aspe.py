"""ASPE (XLSX; Czech railway and road works).

One sheet per object (`SO 11-61-01`). The header (`Typ, Poř. číslo, Kód položky, Varianta, Název
položky, MJ, Množství, …`) spans two rows: the prices (`Jednotková`, `Celkem`) sit under `Dodávka`.
Rows by `Typ`: `S` the building, `O` the object, `O1`/`O2` object levels, `SD` a part (díl), `P` an
item (a position, kind "P"), `PP` its long text, `VV` its take-off (`… =1 356.991 [A]`,
`Celkem: …=2 459.858 [F]`: the expression, then the value), `TS` its technical specification
(added to the long text). A total on an S, O, O1/O2 or SD row is a declared total.
"""

import re
from collections.abc import Iterator

from projects.importers.base import (
    NotANumber,
    ParsedPosition,
    cell_to_decimal,
    cell_to_text,
    parse_decimal,
    round_money,
)
from projects.importers.tabular import BadRow, Table, cell, decimal_text, text

ITEM_TYPE = "P"
TEXT_TYPES = frozenset({"PP", "TS"})
TAKEOFF_TYPE = "VV"
LEVEL_TYPES = ("O1", "O2", "O3")
ROW_TYPES = frozenset({"S", "O", *LEVEL_TYPES, "SD", ITEM_TYPE, TAKEOFF_TYPE, *TEXT_TYPES})
# `… =1 356.991 [A]`: the value after the last `=`, before an optional `[label]`.
_TAKEOFF_VALUE = re.compile(
    r"^(?P<expression>.*)=\s*(?P<value>[-−+]?[\d\s.,]+?)\s*(\[[^\]]*\])?\s*$"
)
_ITEM_FIELDS = (
    "position_number",
    "code",
    "description",
    "unit",
    "quantity",
    "unit_price",
    "total_price",
    "price_system",
)


def is_aspe(types: set[str]) -> bool:
    """A `Typ` column holding ASPE row types: an SD part, object rows, or P items."""
    if types & {"SD", "O1", "O2", "TS", "S", "O"}:
        return True
    return ITEM_TYPE in types and types <= ROW_TYPES | {""}


class AspeTable(Table):
    layout = "aspe"

    def prepare(self) -> None:
        self.own_object = True
        self.object_code = self.object_label = self.sheet_name.strip()

    def positions(self) -> Iterator[ParsedPosition]:
        columns = self.columns
        type_at = columns["row_type"]
        name_at = columns.get("description")
        quantity_at = columns.get("quantity")
        total_at = columns.get("total_price")
        code_at = columns.get("code")
        report = self.report
        pending: ParsedPosition | None = None
        levels: list[tuple[str, str]] = []  # O1/O2 levels: (code, label)
        part: tuple[str, str] | None = None
        for line, cells in self.rows():
            kind = text(cells, type_at).upper()
            if kind == ITEM_TYPE:
                if pending is not None:
                    yield pending
                pending = self._item(line, cells, levels, part)
                continue
            if kind == TAKEOFF_TYPE or kind in TEXT_TYPES:
                report.count(f"skipped rows of type {kind}")
                if pending is None:
                    report.count("take-off and text rows without an item above")
                    continue
                words = text(cells, name_at)
                if kind in TEXT_TYPES:
                    if words:
                        pending.long_text = f"{pending.long_text}\n{words}".lstrip("\n")
                    continue
                pending.takeoff.append(self._takeoff(line, words, cell(cells, quantity_at)))
                continue
            if pending is not None:
                yield pending
                pending = None
            code = text(cells, code_at)
            name = " ".join(text(cells, name_at).split())
            label = " ".join(p for p in (code, name) if p)
            total = cell(cells, total_at)
            if kind == "S":
                self.report.declare("", "", self._amount(total, line))
            elif kind == "O":
                self.object_code = code or self.object_code
                self.object_label = label or self.object_label
                levels, part = [], None
                self.declare("", total, line)
            elif kind in LEVEL_TYPES:
                depth = LEVEL_TYPES.index(kind)
                levels = [*levels[:depth], (code, label)]
                part = None
                if code:
                    self.declare(code, total, line)
            elif kind == "SD":
                part = (code, label)
                if code:
                    self.declare(code, total, line)
            elif any(cell_to_text(value) for value in cells):
                report.count(f"skipped rows of type {kind or '(none)'}")
        if pending is not None:
            yield pending

    def _amount(self, value: object, line: int):
        try:
            return cell_to_decimal(value, decimal_comma=self.decimal_comma)
        except NotANumber:
            return None

    def _takeoff(self, line: int, words: str, quantity: object) -> dict:
        match = _TAKEOFF_VALUE.match(words)
        value = None
        expression = words
        if match:
            try:
                value = parse_decimal(match["value"].strip(), decimal_comma=False)
                expression = match["expression"].rstrip()
            except NotANumber:
                value = None
        if value is None:
            try:
                value = cell_to_decimal(quantity, decimal_comma=self.decimal_comma)
            except NotANumber:
                value = None
        return {"expression": expression, "value": decimal_text(value), "line": line}

    def _item(
        self, line: int, cells: list, levels: list, part: tuple[str, str] | None
    ) -> ParsedPosition | None:
        values = self.values_of(cells, _ITEM_FIELDS)
        try:
            quantity, unit_price, total = self.numbers(line, values)
        except BadRow:
            return None
        if quantity is None:
            self.report.warning(self.location(line), "no quantity", self.header.names["quantity"])
        if total is None and quantity is not None and unit_price is not None:
            total = round_money(quantity * unit_price)
            self.report.count("totals computed as quantity × unit price")
        sections = [label for _code, label in levels]
        parts = [code for code, _label in levels if code]
        if part is not None:
            sections.append(part[1])
            if part[0]:
                parts.append(part[0])
        self._sections = sections
        return ParsedPosition(
            line,
            cell_to_text(values["position_number"]),
            cell_to_text(values["code"]),
            " ".join(cell_to_text(values["description"]).split()),
            "",
            cell_to_text(values["unit"]),
            quantity,
            unit_price,
            total,
            self.section_path(),
            self.object_code,
            self.location,
            kind=ITEM_TYPE,
            price_system=cell_to_text(values["price_system"]),
            parts=tuple(parts),
        )
