"""Kalkula's own export (projects.exporters), read back losslessly.

Recognised by its `Line key` column. Every row is a position and every value is taken as written:
the line key (so positions keep their identity, comments and attachments), section, kind, texts,
take-off (JSON) and split prices. Totals are not recomputed. Text cells the export made inert for
spreadsheets (a leading apostrophe before `=`, `+`, `-`, `@`…) get their apostrophe back off.
"""

import json
from collections.abc import Iterator

from projects.exporters import unescape_text
from projects.importers.base import ParsedPosition
from projects.importers.tabular import BadRow, Table, cell

_FIELDS = (
    "line_key",
    "section",
    "position_number",
    "code",
    "description",
    "category",
    "unit",
    "row_type",
    "price_system",
    "long_text",
    "takeoff",
    "quantity",
    "unit_price",
    "total_price",
    "material_unit_price",
    "assembly_unit_price",
)
_NUMBERS = ("quantity", "unit_price", "total_price", "material_unit_price", "assembly_unit_price")


def is_export(found) -> bool:
    return "line_key" in found.header.columns


def _text(value: object) -> str:
    if value is None:
        return ""
    if value.__class__ is not str:
        value = value if not isinstance(value, float) or not value.is_integer() else int(value)
        return str(value)
    return unescape_text(value)


class ExportTable(Table):
    layout = "kalkula"

    def prepare(self) -> None:
        self.own_object = True  # the line keys carry the objects

    def positions(self) -> Iterator[ParsedPosition]:
        columns = self.columns
        indexes = [(name, columns.get(name)) for name in _FIELDS]
        for line, cells in self.rows():
            values = {name: cell(cells, index) for name, index in indexes}
            if not any(v not in (None, "") for v in values.values()):
                continue
            try:
                quantity, unit_price, total, material, assembly = self.numbers(
                    line, values, _NUMBERS
                )
            except BadRow:
                continue
            takeoff = self._takeoff(line, _text(values["takeoff"]))
            if takeoff is None:
                continue
            yield ParsedPosition(
                line,
                _text(values["position_number"]),
                _text(values["code"]),
                _text(values["description"]),
                _text(values["category"]),
                _text(values["unit"]),
                quantity,
                unit_price,
                total,
                _text(values["section"]),
                "",
                self.location,
                kind=_text(values["row_type"]),
                price_system=_text(values["price_system"]),
                long_text=_text(values["long_text"]),
                takeoff=takeoff,
                material_unit_price=material,
                assembly_unit_price=assembly,
                key=_text(values["line_key"]),
            )

    def _takeoff(self, line: int, raw: str) -> list | None:
        if not raw:
            return []
        try:
            lines = json.loads(raw)
        except ValueError:
            lines = None
        if not isinstance(lines, list) or not all(isinstance(entry, dict) for entry in lines):
            self.report.error(
                self.location(line),
                f'"{raw[:60]}" is not a take-off list (JSON, as Kalkula exports it)',
                self.header.names["takeoff"],
            )
            return None
        return lines
