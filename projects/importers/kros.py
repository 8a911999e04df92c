"""KROS 4 / ÚRS budgets: the "Export Komplet" object sheet and the grid ("tabulkový") layout.

An object sheet stacks a cover (`KRYCÍ LIST SOUPISU PRACÍ`: `Objekt:`, `Cena bez DPH`, the VAT
table, `Cena s DPH`), a part recapitulation (`Náklady ze soupisu prací`, one row per part) and the
bill, whose header may sit anywhere (rows ~75–140). The bill's `Typ` column (`TV` in the grid)
says what each row is:

| Typ | read as |
|---|---|
| `D` | a part (díl): groups HSV, PSV, M, VRN and their parts (1, 711, 21-M…), total declared |
| `K`, `M` | a work or material item: a position (kind "K"/"M") |
| `VV` | a take-off line of the item above (`Popis` the expression, `Množství` its value) |
| `PP` | the item's long text; `P` a note (added to the long text) |
| `PSC`, `Online PSC` | a link to the price system's description: counted |
| empty | `Náklady soupisu celkem` (the object's total, declared) or an empty row |

The object's code comes from the cover (`Objekt:`, and `Soupis:` when the object has several bills)
or from the sheet's name (`SO 1 - Dům …`). An item's identity is its object and `PČ`; where `PČ`
restarts per part, a repeated number is told apart by its part.

`Rekapitulace stavby` (the building's summary sheet) is not a bill: its `Cena bez DPH` is the
declared total of the whole budget (`building_recapitulation`).
"""

from collections.abc import Iterator
from decimal import Decimal

from projects.importers.base import (
    ImportReport,
    NotANumber,
    ParsedPosition,
    cell_to_decimal,
    cell_to_text,
    round_money,
)
from projects.importers.tabular import (
    Row,
    Table,
    cell,
    code_of,
    decimal_text,
    text,
)

ITEM_TYPES = frozenset({"K", "M"})
SECTION_TYPE = "D"
TAKEOFF_TYPE = "VV"
LONG_TEXT_TYPE = "PP"
NOTE_TYPE = "P"
LINK_TYPES = frozenset({"PSC", "ONLINE PSC"})
# Every value the `Typ` column of a KROS bill holds; a column holding others (HSV, PSV) is a
# category column of a plain table.
ROW_TYPES = frozenset({SECTION_TYPE, *ITEM_TYPES, TAKEOFF_TYPE, LONG_TEXT_TYPE, NOTE_TYPE})
ROW_TYPES |= LINK_TYPES
_ITEM_FIELDS = (
    "position_number",
    "code",
    "description",
    "unit",
    "quantity",
    "unit_price",
    "total_price",
    "material_unit_price",
    "assembly_unit_price",
    "price_system",
)
_NUMBERS = ("quantity", "unit_price", "total_price", "material_unit_price", "assembly_unit_price")
_TOTAL_LABELS = ("naklady soupisu celkem", "naklady ze soupisu praci")
# The notes counting rows that are not positions, by row type.
_SKIPPED = {kind: f"skipped rows of type {kind}" for kind in ROW_TYPES}


def _folded(value: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _label_value(cells: list, label_at: int) -> str:
    """The first text right of a label (`Objekt:` | … | `SO 1 - Dům`)."""
    for value in cells[label_at + 1 :]:
        found = cell_to_text(value)
        if found:
            return found
    return ""


def _numbers_right(cells: list, start: int) -> list[Decimal]:
    found = []
    for value in cells[start + 1 :]:
        if value is None or value == "":
            continue
        try:
            number = cell_to_decimal(value, decimal_comma=True)
        except NotANumber:
            continue
        if number is not None:
            found.append(number)
    return found


class Cover:
    """What an object sheet says above its bill: the object, the soupis, the declared totals."""

    def __init__(self, rows: list[Row]) -> None:
        self.object = ""
        self.soupis = ""
        self.net: Decimal | None = None
        self.vat = Decimal(0)
        self.vat_seen = False
        self.gross: Decimal | None = None
        self.bill_total: Decimal | None = None
        self.parts: list[tuple[str, Decimal, int]] = []  # (part code, declared, line)
        in_recapitulation = False
        for line, cells in rows:
            labels = [
                (index, _folded(value))
                for index, value in enumerate(cells)
                if value.__class__ is str and value.strip()
            ]
            if not labels:
                continue
            index, label = labels[0]
            if label in ("objekt:", "objekt"):
                self.object = self.object or _label_value(cells, index)
            elif label in ("soupis:", "soupis"):
                self.soupis = self.soupis or _label_value(cells, index)
            elif label.startswith("cena bez dph") and self.net is None:
                numbers = _numbers_right(cells, index)
                self.net = numbers[0] if numbers else None
            elif label.startswith("cena s dph") and self.gross is None:
                numbers = _numbers_right(cells, index)
                self.gross = numbers[0] if numbers else None
            elif label == "dph" or (label in _VAT_LABELS and not in_recapitulation):
                numbers = _numbers_right(cells, index)
                if len(numbers) >= 2:  # (rate,) base, tax: the tax is the last figure
                    self.vat += numbers[-1]
                    self.vat_seen = True
            elif label.startswith("kod dilu"):
                in_recapitulation = True
            elif in_recapitulation and label.startswith(_TOTAL_LABELS):
                numbers = _numbers_right(cells, index)
                self.bill_total = numbers[0] if numbers else self.bill_total
            elif in_recapitulation and " - " in cell_to_text(cells[index]):
                numbers = _numbers_right(cells, index)
                if numbers:
                    self.parts.append((code_of(cell_to_text(cells[index])), numbers[0], line))

    def totals(self) -> dict[str, str]:
        found = {}
        if self.net is not None:
            found["net"] = str(self.net)
        if self.vat_seen:
            found["vat"] = str(self.vat)
        if self.gross is not None:
            found["gross"] = str(self.gross)
        return found


_VAT_LABELS = ("zakladni", "snizena", "zakl. prenesena", "sniz. prenesena", "nulova")


class KrosTable(Table):
    """A KROS bill: an object sheet of an Export Komplet, or the grid layout (`TV`)."""

    layout = "kros"

    def prepare(self) -> None:
        """The object, from the cover (`Objekt:`, `Soupis:`) or the sheet's name."""
        self.cover = cover = Cover(self.found.above)
        label = cover.object
        if not label and " - " in self.sheet_name:
            label = self.sheet_name.strip()
        if label:
            self.own_object = True
            self.object_code = code_of(label)
            self.object_label = label
            if cover.soupis:
                self.object_code = f"{self.object_code}/{code_of(cover.soupis)}"
                self.object_label = f"{label} / {cover.soupis}"

    def positions(self) -> Iterator[ParsedPosition]:
        self._declare_cover()
        columns = self.columns
        self._item_at = tuple(columns.get(name) for name in _ITEM_FIELDS)
        self._placed()
        type_at = columns["row_type"]
        description_at = columns.get("description")
        quantity_at = columns.get("quantity")
        level_at = columns.get("level")
        report = self.report
        pending: ParsedPosition | None = None
        numbers_by_object: dict[str, set[str]] = {}
        orphans = 0
        for line, cells in self.rows():
            raw = cells[type_at] if type_at < len(cells) else None
            kind = raw.strip().upper() if raw.__class__ is str else cell_to_text(raw).upper()
            if kind in ITEM_TYPES:
                if pending is not None:
                    yield pending
                pending = self._item(line, cells, kind, numbers_by_object)
            elif kind == TAKEOFF_TYPE:
                report.count("skipped rows of type VV")
                if pending is None:
                    orphans += 1
                    continue
                expression = text(cells, description_at)
                try:
                    value = cell_to_decimal(cell(cells, quantity_at), decimal_comma=True)
                except NotANumber:
                    value = None
                pending.takeoff.append(
                    {"expression": expression, "value": decimal_text(value), "line": line}
                )
            elif kind in (LONG_TEXT_TYPE, NOTE_TYPE):
                report.count(_SKIPPED[kind])
                if pending is None:
                    orphans += 1
                    continue
                words = text(cells, description_at)
                if words:
                    joined = "\n\n" if kind == NOTE_TYPE else "\n"
                    pending.long_text = f"{pending.long_text}{joined}{words}".lstrip("\n")
            elif kind == SECTION_TYPE:
                if pending is not None:
                    yield pending
                    pending = None
                self._section(line, cells, cell(cells, level_at))
            elif kind in LINK_TYPES:
                report.count(_SKIPPED[kind])
            elif not kind:
                self._untyped(line, cells)
            else:
                report.count(f"skipped rows of type {kind}")
        if pending is not None:
            yield pending
        if orphans:
            report.count("take-off and text rows without an item above", orphans)

    # The object ---------------------------------------------------------------------------------
    def _declare_cover(self) -> None:
        """The totals the cover and the part recapitulation declare."""
        cover, report = self.cover, self.report
        if cover.net is not None:
            report.declare(self.object_code, "", cover.net)
        if cover.bill_total is not None:
            report.declare(self.object_code, "", cover.bill_total)
        for part, amount, _line in cover.parts:
            report.declare(self.object_code, part, amount)
        totals = cover.totals()
        if totals:
            objects = report.declared_totals.setdefault("objects", {})
            objects[self.object_code or self.sheet_name] = totals

    def _category(self) -> str:
        """The work category: the lettered group the item lies in (HSV, PSV, M, VRN)."""
        group = self._parts[0] if self._parts else ""
        return "" if any(ch.isdigit() for ch in group) else group

    # Rows ---------------------------------------------------------------------------------------
    def _untyped(self, line: int, cells: list) -> None:
        """`Náklady soupisu celkem` (the object's declared total), or an empty row."""
        columns = self.columns
        label = _folded(text(cells, columns.get("description")) or text(cells, columns.get("code")))
        if label.startswith(_TOTAL_LABELS):
            self.declare("", cell(cells, columns.get("total_price")), line)
            return
        if any(cell_to_text(value) for value in cells):
            self.report.count("skipped rows of type (none)")

    def _section(self, line: int, cells: list, level: object) -> None:
        columns = self.columns
        code = text(cells, columns.get("code"))
        description = " ".join(text(cells, columns.get("description")).split())
        label = " - ".join(part for part in (code, description) if part)
        depth = None
        if level is not None and cell_to_text(level):
            try:
                depth = max(int(cell_to_decimal(level) or 1), 1)
            except (NotANumber, ValueError, ArithmeticError):
                depth = None
        if depth is None:
            # KROS main groups (HSV, PSV, M, VRN …) are lettered; their parts are numbered.
            depth = 2 if code and any(ch.isdigit() for ch in code) and self._sections else 1
        self._sections = [*self._sections[: depth - 1], label]
        self._parts = [*self._parts[: depth - 1], code]
        self._placed()
        if code:
            self.declare(code, cell(cells, columns.get("total_price")), line)

    def _item(
        self, line: int, cells: list, kind: str, numbers_by_object: dict[str, set[str]]
    ) -> ParsedPosition | None:
        # The hottest path of a big bill: cells by index, no dict per row.
        width = len(cells)
        number, code, description, unit, *amounts, price_system = [
            cells[at] if at is not None and at < width else None for at in self._item_at
        ]
        comma = self.decimal_comma
        try:
            quantity, unit_price, total, material, assembly = [
                cell_to_decimal(value, decimal_comma=comma) for value in amounts
            ]
        except NotANumber:
            self._number_errors(line, dict(zip(_NUMBERS, amounts, strict=True)), _NUMBERS)
            return None
        if quantity is None:
            self.report.warning(self.location(line), "no quantity", self.header.names["quantity"])
        if unit_price is None and (material is not None or assembly is not None):
            unit_price = (material or Decimal(0)) + (assembly or Decimal(0))
        if total is None and quantity is not None and unit_price is not None:
            total = round_money(quantity * unit_price)
            self.report.count("totals computed as quantity × unit price")
        number = cell_to_text(number)
        key = ""
        if number:
            seen = numbers_by_object.setdefault(self.object_code, set())
            if number in seen and self._parts:
                # PČ restarts per part: the part tells the repeated number apart.
                key = "|".join(p for p in (self.object_code, self._parts[-1], number) if p)
            seen.add(number)
        section, category, parts = self._place
        description = cell_to_text(description)
        if "  " in description or "\n" in description or "\t" in description:
            description = " ".join(description.split())
        return ParsedPosition(
            line,
            number,
            cell_to_text(code),
            description,
            category,
            cell_to_text(unit),
            quantity,
            unit_price,
            total,
            section,
            self.object_code,
            self.location,
            kind=kind,
            price_system=cell_to_text(price_system),
            material_unit_price=material,
            assembly_unit_price=assembly,
            parts=parts,
            key=key,
        )

    def _placed(self) -> None:
        """Where the items below lie now: (section path, category, part codes)."""
        self._place = (
            self.section_path(),
            self._category(),
            tuple(p for p in self._parts if p),
        )


def is_kros(types: set[str]) -> bool:
    """A `Typ`/`TV` column holding KROS row types: a K item or a D part among them."""
    return bool(types & {SECTION_TYPE, "K"})


def building_recapitulation(rows: list[Row], report: ImportReport) -> None:
    """`Rekapitulace stavby`: the whole budget's declared net total, VAT and gross."""
    cover = Cover(rows)
    if cover.net is not None:
        report.declare("", "", cover.net)
    report.declared_totals.update(cover.totals())
