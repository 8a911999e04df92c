"""RTS / BUILDpower "Položkový rozpočet" (XLSX).

The workbook: `Pokyny pro vyplnění` (instructions), `Stavba` (the cover: `Rozpis ceny`,
`Rekapitulace dílčích částí`, `Celkem za stavbu` — the declared total), `VzorPolozky` (a
template), then one sheet per budget part, `SO01 01 Pol`, … In a `… Pol` sheet, `S:` / `O:` / `R:`
rows name the building, object and budget above the header (`P.č., Číslo položky, Název položky,
MJ, Množství, Cena / MJ, Celkem, …`); `Díl:` rows open a part; item rows have a number, code,
name, unit and quantity. Below an item, rows with a name and a quantity are its take-off lines
(`jáma na halu : 0,550*(13,000+1,000)*…`) and rows with a name only its long text. The hidden
column `#TypZaznamu#` marks them `VV` and `POP` where the file has it; `Celkem za díl` rows
declare a part's total.
"""

from collections.abc import Iterator

from projects.importers.base import (
    ImportReport,
    NotANumber,
    ParsedPosition,
    cell_to_decimal,
    cell_to_text,
    round_money,
)
from projects.importers.kros import _folded, _label_value, _numbers_right
from projects.importers.tabular import BadRow, Row, Table, cell, decimal_text, text

TAKEOFF_RECORDS = frozenset({"VV"})
TEXT_RECORDS = frozenset({"POP", "POZNAMKA", "TEXT"})
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


def is_rts(found, sheet_name: str) -> bool:
    columns = found.header.columns
    if "record_type" in columns:
        return True
    if sheet_name.rstrip().casefold().endswith(" pol"):
        return True
    labels = {_folded(cell_to_text(cells[0])) for _, cells in found.above if cells}
    return {"s:", "o:"} <= labels


class RtsTable(Table):
    layout = "rts"

    def prepare(self) -> None:
        self._object_from_rows()

    def positions(self) -> Iterator[ParsedPosition]:
        columns = self.columns
        number_at = columns.get("position_number")
        code_at = columns.get("code")
        name_at = columns.get("description")
        unit_at = columns.get("unit")
        quantity_at = columns.get("quantity")
        record_at = columns.get("record_type")
        report = self.report
        pending: ParsedPosition | None = None
        for line, cells in self.rows():
            number = text(cells, number_at)
            name = text(cells, name_at)
            record = text(cells, record_at).upper()
            folded = _folded(number or name)
            if folded.startswith("dil:"):
                if pending is not None:
                    yield pending
                    pending = None
                self._part(cells, number)
                continue
            if folded.startswith("celkem"):
                if pending is not None:
                    yield pending
                    pending = None
                report.count("skipped summary rows")
                if self._parts and "dil" in folded:
                    self.declare(self._parts[-1], cell(cells, columns.get("total_price")), line)
                elif "rozpocet" in folded or folded == "celkem":
                    self.declare("", cell(cells, columns.get("total_price")), line)
                continue
            code = text(cells, code_at)
            unit = text(cells, unit_at)
            quantity_cell = cell(cells, quantity_at)
            is_item = record not in TAKEOFF_RECORDS | TEXT_RECORDS and bool(
                number and (code or unit)
            )
            if is_item:
                if pending is not None:
                    yield pending
                pending = self._item(line, cells)
                continue
            if not name:
                if any(cell_to_text(value) for value in cells):
                    report.count("skipped rows without a name")
                continue
            has_quantity = cell_to_text(quantity_cell) != ""
            takeoff = record in TAKEOFF_RECORDS or (record not in TEXT_RECORDS and has_quantity)
            report.count("take-off rows" if takeoff else "text rows")
            if pending is None:
                report.count("take-off and text rows without an item above")
                continue
            if takeoff:
                try:
                    value = cell_to_decimal(quantity_cell, decimal_comma=self.decimal_comma)
                except NotANumber:
                    value = None
                pending.takeoff.append(
                    {"expression": name, "value": decimal_text(value), "line": line}
                )
            else:
                pending.long_text = f"{pending.long_text}\n{name}".lstrip("\n")
        if pending is not None:
            yield pending

    def _object_from_rows(self) -> None:
        named: dict[str, tuple[str, str]] = {}
        for _line, cells in self.found.above:
            if not cells:
                continue
            label = _folded(cell_to_text(cells[0]))
            if label in ("s:", "o:", "r:"):
                code = _label_value(cells, 0)
                name = ""
                if code:
                    start = next(i for i, v in enumerate(cells) if cell_to_text(v) == code)
                    name = _label_value(cells, start)
                named[label] = (code, name)
        obj, budget = named.get("o:"), named.get("r:")
        if obj:
            self.object_code = obj[0]
            labels = [" ".join(p for p in obj if p)]
            if budget:
                self.object_code = f"{obj[0]}/{budget[0]}"
                labels.append(" ".join(p for p in budget if p))
            self.object_label = " / ".join(labels)
        else:
            name = self.sheet_name.strip()
            if name.casefold().endswith(" pol"):
                name = name[:-4].strip()
            self.object_code = self.object_label = name
        self.own_object = bool(self.object_code)

    def _part(self, cells: list, number_cell: str) -> None:
        columns = self.columns
        code = text(cells, columns.get("code"))
        name = " ".join(text(cells, columns.get("description")).split())
        if not code:  # `Díl: 1` written in one cell
            code = number_cell.split(":", 1)[1].strip()
        self._sections = [" - ".join(p for p in (code, name) if p)]
        self._parts = [code] if code else []

    def _item(self, line: int, cells: list) -> ParsedPosition | None:
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
            price_system=cell_to_text(values["price_system"]),
            parts=tuple(self._parts),
        )


def building_cover(rows: list[Row], report: ImportReport) -> bool:
    """The `Stavba` cover: `Celkem za stavbu` is the declared total of the whole budget. True
    when the sheet says it."""
    for _line, cells in rows:
        for index, value in enumerate(cells):
            if value.__class__ is str and _folded(value).startswith("celkem za stavbu"):
                numbers = _numbers_right(cells, index)
                if numbers:
                    report.declare("", "", numbers[0])
                    report.declared_totals.setdefault("net", str(numbers[0]))
                    return True
    return False
