"""Price catalog files → catalog items (`code, description, unit, unit_price`).

CSV is read like budgets are (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1250; `,` `;`
tab or `|`; decimal comma or point) and XLSX from its first sheet with a header row. Headers are
mapped by the same synonyms as budgets (Code/Kód, Unit/MJ, Unit price/Jedn. cena …). XML is the
OTSKP road-works catalog (catalogs.otskp). A catalog is all or nothing: any bad row fails the file
naming the row and column, after reading it all.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import chain, islice
from typing import BinaryIO

from catalogs.otskp import read_otskp
from projects import rows as stored
from projects.importers import sniff_format
from projects.importers.base import (
    MAX_LISTED,
    ImportFailed,
    ImportReport,
    NotANumber,
    ProgressCallback,
    cell_to_decimal,
    cell_to_text,
)
from projects.importers.csvfile import csv_rows
from projects.importers.guard import spreadsheet_guard
from projects.importers.headers import HeaderMap, map_header
from projects.importers.tabular import (
    CONVENTION_SAMPLE_ROWS,
    HEADER_SCAN_ROWS,
    Row,
    decimal_comma_convention,
)
from projects.models import UNIT_PRICE_PLACES

REQUIRED_COLUMNS = ("code", "unit", "unit_price")
COLUMN_EXAMPLES = {
    "code": "Code, Kód",
    "unit": "Unit, MJ, Einheit",
    "unit_price": "Unit price, Jedn. cena, Einheitspreis",
}
_MAX_LENGTHS = {"code": 64, "unit": 32}
OTSKP_ELEMENTS = {"code": "znacka", "unit": "MJ", "unit_price": "jedn_cena", "description": "nazev"}


@dataclass(frozen=True, slots=True)
class ParsedItem:
    line: int
    code: str
    description: str
    unit: str
    unit_price: Decimal


def read_catalog(
    stream: BinaryIO, *, filename: str, report: ImportReport, on_progress: ProgressCallback
) -> list[ParsedItem]:
    """Every item of the catalog file, in file order. Raises ImportFailed listing the problems
    (row and column) when any row is bad, a code repeats, or the file has no items."""
    stream.seek(0)
    head = stream.read(4096)
    stream.seek(0)
    file_format = sniff_format(head, filename)
    if file_format == "csv":
        rows, _, _ = csv_rows(stream, report=report, on_progress=on_progress)
        items = list(_items(rows, report, "row {}"))
    elif file_format == "xlsx":
        spreadsheet_guard(stream)  # measured before it is opened: zip bombs, huge sheets
        rows, where = _xlsx_rows(stream, report)
        items = list(_items(rows, report, where))
    else:  # XML: the catalog in XML is OTSKP's
        items = list(_otskp_items(stream, report, on_progress))
    if report.errors:
        shown = "; ".join(str(problem) for problem in report.errors[:3])
        more = f" (and {len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        raise ImportFailed(
            "invalid_file",
            f"The catalog has {len(report.errors)} problem(s), nothing was imported: "
            f"{shown}{more}.",
            problems=report.errors,
        )
    if not items:
        where = "no <Polozka> in it" if file_format not in ("csv", "xlsx") else "a header row"
        raise ImportFailed("no_items", f"The catalog has {where} but no items.")
    return items


def _otskp_items(
    stream: BinaryIO, report: ImportReport, on_progress: ProgressCallback
) -> Iterator[ParsedItem]:
    seen: dict[str, int] = {}
    for line, fields in read_otskp(stream, report=report, on_progress=on_progress):
        item = checked_item(
            report,
            line=line,
            where="line {}, Polozka",
            code=fields.get("znacka", ""),
            description=fields.get("nazev", ""),
            unit=fields.get("mj", ""),
            raw_price=fields.get("jedn_cena", ""),
            decimal_comma=True,
            seen=seen,
            columns=OTSKP_ELEMENTS,
        )
        if item is not None:
            yield item


def _xlsx_rows(stream: BinaryIO, report: ImportReport) -> tuple[Iterator[Row], str]:
    """The rows of the first visible sheet with a header row."""
    from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

    from projects.importers.xlsx import sheet_rows

    try:
        workbook = CalamineWorkbook.from_filelike(stream)
        report.notes["format"] = "xlsx"
        for meta in workbook.sheets_metadata:
            if meta.visible != SheetVisibleEnum.Visible:
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            rows = list(sheet_rows(sheet))
            if any(_header(cells) is not None for _, cells in rows[:HEADER_SCAN_ROWS]):
                report.notes["sheet"] = meta.name
                return iter(rows), f'sheet "{meta.name}", row {{}}'
    except (CalamineError, ValueError, OSError) as exc:
        raise ImportFailed(
            "unreadable_spreadsheet", f"The file is not a readable XLSX workbook: {exc}"
        ) from None
    raise ImportFailed("no_header", _no_header_message())


def _header(cells: list) -> HeaderMap | None:
    header = map_header([cell_to_text(cell) for cell in cells])
    return header if all(name in header.columns for name in REQUIRED_COLUMNS) else None


def _no_header_message() -> str:
    wanted = "; ".join(f'"{n.replace("_", " ")}" ({e})' for n, e in COLUMN_EXAMPLES.items())
    return f"No header row in the first rows of the file: expected the columns {wanted}."


def _items(rows: Iterator[Row], report: ImportReport, where: str) -> Iterator[ParsedItem]:
    header = None
    for _, cells in islice(rows, HEADER_SCAN_ROWS):
        header = _header(cells)
        if header is not None:
            break
    if header is None:
        raise ImportFailed("no_header", _no_header_message())
    sample = list(islice(rows, CONVENTION_SAMPLE_ROWS))
    decimal_comma = decimal_comma_convention(sample, header)
    if decimal_comma is None and report.notes.get("delimiter") == ",":
        decimal_comma = False  # a lone comma in a comma-separated file groups thousands
    columns = header.columns
    names = header.names
    seen: dict[str, int] = {}
    for line, cells in chain(sample, rows):

        def cell(name: str, cells: list = cells) -> object:
            index = columns.get(name)
            return cells[index] if index is not None and index < len(cells) else None

        code, unit = cell_to_text(cell("code")), cell_to_text(cell("unit"))
        description = cell_to_text(cell("description"))
        raw_price = cell("unit_price")
        if not (code or unit or description or cell_to_text(raw_price)):
            continue  # a blank line
        item = checked_item(
            report,
            line=line,
            where=where,
            code=code,
            description=description,
            unit=unit,
            raw_price=raw_price,
            decimal_comma=decimal_comma,
            seen=seen,
            columns=names,
        )
        if item is not None:
            yield item


def checked_item(
    report: ImportReport,
    *,
    line: int,
    where: str,
    code: str,
    description: str,
    unit: str,
    raw_price: object,
    decimal_comma: bool | None,
    seen: dict[str, int],
    columns: Mapping[str, str],
) -> ParsedItem | None:
    """One catalog line checked (a code and a unit, not too long; a price that is a number, not
    negative; a code not seen before), or None with the problems reported. `where` names a line
    with `{}`; `columns` names the file's column (or element) of each field."""
    location = where.format(line)
    ok = True
    for name, value in (("code", code), ("unit", unit)):
        if not value:
            report.error(location, "is empty", columns[name])
            ok = False
        elif len(value) > _MAX_LENGTHS[name]:
            report.error(
                location,
                f"{value[:40]!r} is longer than {_MAX_LENGTHS[name]} characters",
                columns[name],
            )
            ok = False
    price = _price(raw_price, decimal_comma, report, location, columns["unit_price"])
    if code and code in seen:
        report.error(
            location, f"code {code} is already on {where.format(seen[code])}", columns["code"]
        )
        ok = False
    if not ok or price is None:  # no price is not ok
        return None
    seen[code] = line
    return ParsedItem(line, code, " ".join(description.split()), unit, price)


def _price(
    raw: object, decimal_comma: bool | None, report: ImportReport, location: str, column: str
) -> Decimal | None:
    try:
        value = cell_to_decimal(raw, decimal_comma=decimal_comma)
    except NotANumber:
        report.error(location, f'"{cell_to_text(raw)}" is not a number', column)
        return None
    if value is None:
        report.error(location, "is empty", column)
        return None
    if value < 0:
        report.error(location, f"{value} is negative", column)
        return None
    try:
        rounded = stored.quantize("unit_price", value)
    except (stored.OutOfRange, InvalidOperation):
        report.error(location, f"{value} is too large to store", column)
        return None
    if rounded != value:
        report.warning(location, f"{value} rounded to {UNIT_PRICE_PLACES} places", column)
    return rounded


__all__ = ["MAX_LISTED", "ParsedItem", "read_catalog"]
