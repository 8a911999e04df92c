"""Budget files → stored position rows. One module per format (csvfile, xlsx, unixml, gaeb); this
module picks the format from the file's bytes (an XML file by its root element) and turns what the
format module yields into rows: ordinals, line keys, values at the stored scales, fingerprints."""

import codecs
import re
from collections.abc import Generator, Iterable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import PurePath
from typing import BinaryIO

from projects import rows as stored
from projects.importers import csvfile, gaeb, unixml, xlsx
from projects.importers.base import (
    ImportFailed,
    ImportReport,
    ParsedPosition,
    PreviousPositions,
    ProgressCallback,
)
from projects.importers.guard import spreadsheet_guard
from projects.models import Position
from projects.reconciliation import Tally, is_total, reconcile

SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # zip (XLSX, ODS), OLE2 (XLS)
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
READERS = {"csv": csvfile.read, "xlsx": xlsx.read, "unixml": unixml.read, "gaeb": gaeb.read}
# GAEB DA XML's suffixes: .x80–.x89 (3.x), .d80–.d89 (2.x), .x31.
GAEB_SUFFIX = re.compile(r"\.[xd](3\d|8\d)$")
# The XML declaration, comments and processing instructions before the root element.
_XML_PROLOGUE = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
_XML_ROOT = re.compile(rb"\s*<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
# Long descriptions are cut in line keys (they stay whole in the row).
KEY_DESCRIPTION_CHARS = 300

__all__ = [
    "ImportFailed",
    "ImportReport",
    "ParsedPosition",
    "read_rows",
    "row_priced",
    "rows_from_positions",
    "sniff_format",
    "unpriced_row",
]


def sniff_format(head: bytes, filename: str) -> str:
    """The format by the file's first bytes; the name's suffix only when the bytes don't tell."""
    if not head:
        raise ImportFailed("empty_file", "The file is empty.")
    if head.startswith(SPREADSHEET_MAGIC):
        return "xlsx"
    text_start = head.removeprefix(codecs.BOM_UTF8).lstrip()
    suffix = PurePath(filename).suffix.lower()
    if text_start.startswith(b"<"):
        root = _xml_root(text_start)
        if root == b"GAEB" or (root is None and GAEB_SUFFIX.match(suffix)):
            return "gaeb"
        return "unixml"
    if suffix in SPREADSHEET_SUFFIXES:
        return "xlsx"
    if suffix == ".xml":
        return "unixml"
    return "csv"


def _xml_root(text: bytes) -> bytes | None:
    """The local name of the root element at the start of an XML file, None when the head does
    not show it (a prologue longer than the head)."""
    at = 0
    while match := _XML_PROLOGUE.match(text, at):
        at = match.end()
    root = _XML_ROOT.match(text, at)
    return root.group(1) if root else None


def read_positions(
    stream: BinaryIO,
    *,
    filename: str,
    report: ImportReport,
    on_progress: ProgressCallback,
    previous: PreviousPositions | None = None,
) -> Iterator[ParsedPosition]:
    """The positions of the file as its format's module reads them. `previous` gives the current
    version's positions to a format that completes its items from them (a GAEB X84 bid carries
    prices only: its texts, units and kinds are the tender's)."""
    stream.seek(0)
    head = stream.read(4096)
    stream.seek(0)
    file_format = sniff_format(head, filename)
    if file_format == "xlsx":
        spreadsheet_guard(stream)  # measured before it is opened: zip bombs, huge sheets
    if file_format == "gaeb":  # the phase may be only in the suffix (.x83) of a 3.0/3.1 file
        return gaeb.read(
            stream, report=report, on_progress=on_progress, filename=filename, previous=previous
        )
    return READERS[file_format](stream, report=report, on_progress=on_progress)


def _line_key(position: ParsedPosition) -> str:
    if position.key:
        return position.key
    if position.position_number:
        parts = [position.position_number]
    else:
        description = " ".join(position.description.split())[:KEY_DESCRIPTION_CHARS]
        parts = [position.code, description, position.unit]
    if position.object_code:
        parts.insert(0, position.object_code)
    return "|".join(parts)


def read_rows(
    stream: BinaryIO,
    *,
    filename: str,
    report: ImportReport,
    on_progress: ProgressCallback,
    previous: PreviousPositions | None = None,
) -> Iterator[tuple]:
    """Stored rows (`projects.rows.ROW_FIELDS` order, id None, numbers as their canonical text at
    the stored scale) of the file's positions, in file order; ordinals are spaced ORDINAL_GAP
    apart. Raises ImportFailed when the file cannot be read, has no positions, or (once it is read
    to the end) when rows had errors, listing them all; warnings stay in `report`."""
    positions = read_positions(
        stream, filename=filename, report=report, on_progress=on_progress, previous=previous
    )
    count = yield from rows_from_positions(positions, report=report)
    if count == 0:
        raise ImportFailed(
            "no_positions", "The file has a header row but no positions below it.", **report.notes
        )


def rows_from_positions(
    positions: Iterable[ParsedPosition], *, report: ImportReport
) -> Generator[tuple, None, int]:
    """Stored rows of parsed positions, as `read_rows` makes them (line keys, duplicates kept
    apart, values at the stored scales, fingerprints), for any source of positions (files, a
    legacy migration). Raises ImportFailed once the positions are read when some had errors;
    returns how many rows it yielded."""
    # line key → where it was first, as (locate, line, XML path): a string per row costs more
    seen: dict[str, tuple] = {}
    repeats: dict[str, int] = {}  # line key → its last duplicate's number
    ordinal = count = 0
    unaudited = Position.AuditStatus.UNAUDITED.value
    key_limit = stored.MAX_LENGTHS["line_key"] - 8  # room for a " #n" duplicate suffix
    tally = Tally()
    priced = False
    for position in positions:
        values = _stored_values(position, report)
        if values is None:
            continue
        total = values[_TOTAL]
        priced = priced or _priced(values)
        tally.add(
            object_code=position.object_code,
            parts=position.parts,
            kind=position.kind,
            total=None if total is None else Decimal(total),
        )
        key = _line_key(position)[:key_limit]
        if key in seen:
            locate, line, where_text = seen[key]
            first = locate(line) if locate is not None else where_text
            duplicate = repeats.get(key, 1) + 1
            while f"{key} #{duplicate}" in seen:
                duplicate += 1
            repeats[key] = duplicate
            report.warning(
                position.where,
                f"the same position as {first} ({key!r}): kept apart as {key} #{duplicate}",
            )
            key = f"{key} #{duplicate}"
        seen[key] = (position.locate, position.source_line, position.where_text)
        count += 1
        ordinal += stored.ORDINAL_GAP
        yield (
            None,
            ordinal,
            position.source_line,
            key,
            *values,
            unaudited,
            stored.fingerprint(values),
        )
    if report.errors:
        shown = "; ".join(str(problem) for problem in report.errors[:3])
        more = f" (and {len(report.errors) - 3} more)" if len(report.errors) > 3 else ""
        raise ImportFailed(
            "invalid_file",
            f"The file has {len(report.errors)} problem(s), nothing was imported: {shown}{more}.",
            problems=report.errors,
        )
    if count and not priced:
        # A tender (zadání): every unit price is empty or zero. Its prices are unknown, not 0.00.
        report.unpriced = True
        report.notes["unpriced"] = "every unit price is empty or zero: a tender, imported unpriced"
        tally.priced.clear()
    _reconcile(report, tally)
    return count


def _priced(values: tuple) -> bool:
    return any(values[index] not in _NO_PRICE for index in _PRICE_INDEXES)


def row_priced(row: tuple) -> bool:
    """Whether a stored row (ROW_FIELDS order) has a price: a file with none is a tender."""
    return any(row[index] not in _NO_PRICE for index in _ROW_PRICE_INDEXES)


def unpriced_row(row: tuple) -> tuple:
    """A stored row (ROW_FIELDS order) of a tender: its prices and total empty, fingerprinted
    anew."""
    cells = list(row)
    for index in _ROW_PRICE_INDEXES:
        cells[index] = None
    content = cells[_CONTENT_START : _CONTENT_START + len(stored.CONTENT_FIELDS)]
    cells[-1] = stored.fingerprint(content)
    return tuple(cells)


def _reconcile(report: ImportReport, tally: Tally) -> None:
    """The reconciliation table of the file's declared totals; a warning per disagreement."""
    report.reconciliation, mismatches = reconcile(report.declared, tally)
    for mismatch in mismatches:
        report.warning("totals", str(mismatch))
    report.total_mismatches = [str(m) for m in mismatches if is_total(m)]


def _stored_values(position: ParsedPosition, report: ImportReport) -> tuple | None:
    """CONTENT_FIELDS values, numbers as canonical text at the stored scales; None (errors
    reported) when a value cannot be stored."""
    section = position.section
    if len(section) > _SECTION_LIMIT:
        section = section[: _SECTION_LIMIT - 1] + "…"
    ok = _texts_fit(position) or _length_errors(position, report)
    quantity = _number_text(position, "quantity", position.quantity, report)
    unit_price = _number_text(position, "unit_price", position.unit_price, report)
    total = _number_text(position, "total_price", position.total_price, report)
    material = assembly = None
    if position.material_unit_price is not None or position.assembly_unit_price is not None:
        material = _number_text(
            position, "material_unit_price", position.material_unit_price, report
        )
        assembly = _number_text(
            position, "assembly_unit_price", position.assembly_unit_price, report
        )
    if not ok or _INVALID in (quantity, unit_price, total, material, assembly):
        return None
    return (
        section,
        position.position_number,
        position.code,
        position.description,
        position.category,
        position.unit,
        position.kind,
        position.price_system,
        position.long_text,
        stored.takeoff_text(position.takeoff) if position.takeoff else "[]",
        material,
        assembly,
        quantity,
        unit_price,
        total,
    )


_TOTAL = stored.CONTENT_FIELDS.index("total_price")
_PRICES = ("unit_price", "total_price", "material_unit_price", "assembly_unit_price")
_PRICE_INDEXES = tuple(stored.CONTENT_FIELDS.index(name) for name in _PRICES)
_CONTENT_START = stored.ROW_FIELDS.index(stored.CONTENT_FIELDS[0])
_ROW_PRICE_INDEXES = tuple(stored.ROW_FIELDS.index(name) for name in _PRICES)
# A price that is not one: empty, or zero at any of the stored scales.
_NO_PRICE = frozenset({None, "0.00", "0.0000", "-0.00", "-0.0000"})


_INVALID = object()


def _number_text(
    position: ParsedPosition, name: str, value: Decimal | None, report: ImportReport
) -> object:
    """The canonical text of `value` at its stored scale, None, or _INVALID (error reported)."""
    if value is None:
        return None
    # Nearly every number is stored as the file writes it: inline, what stored.quantize does.
    step, limit = stored.QUANTIZE[name]
    at_scale = value.quantize(step, rounding=ROUND_HALF_UP)
    if at_scale == value and at_scale and at_scale.adjusted() < limit:
        return str(at_scale)
    try:
        rounded = stored.quantize(name, value)
    except stored.OutOfRange:
        report.error(position.where, f"{value} is too large to store", _label(name))
        return _INVALID
    if rounded != value:
        report.warning(position.where, f"{value} rounded to {rounded}", _label(name))
    return str(rounded)


def _length_errors(position: ParsedPosition, report: ImportReport) -> bool:
    """Report the texts longer than their columns; False."""
    for name, limit in _TEXT_LIMITS:
        value = getattr(position, name)
        if len(value) > limit:
            report.error(
                position.where, f"{value[:40]!r}… is longer than {limit} characters", _label(name)
            )
    return False


_SECTION_LIMIT = stored.MAX_LENGTHS["section"]
_TEXT_LIMITS = [
    (name, stored.MAX_LENGTHS[name])
    for name in ("position_number", "code", "category", "unit", "kind", "price_system")
]
_LIMIT = dict(_TEXT_LIMITS)


def _texts_fit(position: ParsedPosition) -> bool:
    """Whether every text of _TEXT_LIMITS fits its column (spelled out: it runs for every row)."""
    return (
        len(position.position_number) <= _LIMIT["position_number"]
        and len(position.code) <= _LIMIT["code"]
        and len(position.category) <= _LIMIT["category"]
        and len(position.unit) <= _LIMIT["unit"]
        and len(position.kind) <= _LIMIT["kind"]
        and len(position.price_system) <= _LIMIT["price_system"]
    )


def _label(name: str) -> str:
    return name.replace("_", " ")
