"""Measuring a zip archive (XLSX, ODS, any zip) before anything opens it.

A few kilobytes of zip can inflate to gigabytes, and a spreadsheet reader holds a sheet as a
rectangle of cells: python-calamine allocates every cell between A1 and the furthest one it
finds, so two cells (A1 and ZZ200000) take 4 GB, and an ODS row repeated 20,000 times with a
cell repeated 1,000 times takes 2.5 GB from a 900-byte file. So before a reader sees an archive:

- `archive_check(..., sheets=False)` reads the central directory only (cheap, for uploads):
  the number of entries, the total uncompressed size the entries declare, and each large entry's
  compression ratio;
- `archive_check(..., sheets=True)` (before an import opens the file) also inflates every entry
  as a stream, 1 MiB at a time, from its stored bytes (as a reader does, not trusting its declared
  size: one that inflates to more, or fails its CRC, is damaged), and counts the cells of every
  sheet as the reader would lay them out: XLSX cells by their references (or their order), ODS
  cells with their row and column repeats (trailing empty repeats, which LibreOffice writes to
  fill a sheet, are not laid out by readers and not counted). A binary workbook (XLSB) cannot be
  measured and is refused.

Memory stays flat whatever the archive holds. Pure: no app imports, limits passed in
(`archive_limits()` reads them from settings).
"""

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

ZIP_MAGIC = b"PK\x03\x04"
READ_CHUNK = 1024 * 1024
# Small entries compress as well as they like: only entries above this are judged by their ratio.
RATIO_FLOOR_BYTES = 1024 * 1024
# signature, version, flags, method, time, date, CRC-32, sizes, name and extra field lengths
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
# A tag longer than this (split across chunks) is not one the counters look for: dropped.
MAX_TAG_BYTES = 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_uncompressed_bytes: int
    max_ratio: int
    max_cells_per_sheet: int
    max_cells: int


@dataclass
class ArchiveMeasure:
    """What an archive holds: entries, declared uncompressed bytes, the largest ratio of an
    entry, and (measured with `sheets=True`) the cells laid out per sheet entry."""

    entries: int
    uncompressed_bytes: int
    max_ratio: float
    cells: dict[str, int] = field(default_factory=dict)


class ArchiveRefused(Exception):
    """The archive is over a limit (or cannot be measured); `limit` names the setting."""

    def __init__(self, *, limit: str, message: str, value: int | float, maximum: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message
        self.details: dict[str, Any] = {"limit": limit, "value": value, "maximum": maximum}


def archive_limits() -> ArchiveLimits:
    """The limits in force (settings)."""
    from django.conf import settings

    return ArchiveLimits(
        max_entries=settings.ARCHIVE_MAX_ENTRIES,
        max_uncompressed_bytes=settings.ARCHIVE_MAX_UNCOMPRESSED_BYTES,
        max_ratio=settings.ARCHIVE_MAX_RATIO,
        max_cells_per_sheet=settings.SPREADSHEET_MAX_CELLS_PER_SHEET,
        max_cells=settings.SPREADSHEET_MAX_CELLS,
    )


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def archive_check(
    stream: IO[bytes], *, limits: ArchiveLimits, sheets: bool = True
) -> ArchiveMeasure | None:
    """Measure the zip archive in `stream` (seekable; left at its start) against `limits`.
    Returns None when the stream is not a readable zip archive (its reader will say what it is);
    raises ArchiveRefused naming the first limit it is over."""
    stream.seek(0)
    if not is_zip(stream.read(len(ZIP_MAGIC))):
        stream.seek(0)
        return None
    stream.seek(0)
    try:
        try:
            archive = zipfile.ZipFile(stream)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):
            return None  # no readable directory: not an archive any reader opens
        with archive:
            measure = _measure_directory(archive, limits)
            if sheets:
                _measure_contents(archive, stream, limits, measure)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # Damaged, truncated, or compressed in a way office files are not.
        raise ArchiveRefused(
            limit="integrity", message=f"The archive is damaged: {exc}.", value=0, maximum=0
        ) from None
    finally:
        stream.seek(0)
    return measure


def _measure_directory(archive: zipfile.ZipFile, limits: ArchiveLimits) -> ArchiveMeasure:
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise ArchiveRefused(
            limit="ARCHIVE_MAX_ENTRIES",
            message=f"The archive holds {len(entries)} entries; at most "
            f"{limits.max_entries} are read (ARCHIVE_MAX_ENTRIES).",
            value=len(entries),
            maximum=limits.max_entries,
        )
    total = 0
    worst = 0.0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > RATIO_FLOOR_BYTES:
            ratio = entry.file_size / max(entry.compress_size, 1)
            worst = max(worst, ratio)
            if ratio > limits.max_ratio:
                raise ArchiveRefused(
                    limit="ARCHIVE_MAX_RATIO",
                    message=f"An entry of the archive inflates {ratio:.0f} times (from "
                    f"{entry.compress_size} to {entry.file_size} bytes); at most "
                    f"{limits.max_ratio} times is read (ARCHIVE_MAX_RATIO).",
                    value=round(ratio),
                    maximum=limits.max_ratio,
                )
    _check_total(total, limits)
    return ArchiveMeasure(entries=len(entries), uncompressed_bytes=total, max_ratio=worst)


def _check_total(total: int, limits: ArchiveLimits) -> None:
    if total > limits.max_uncompressed_bytes:
        raise ArchiveRefused(
            limit="ARCHIVE_MAX_UNCOMPRESSED_BYTES",
            message=f"The archive inflates to {total} bytes; at most "
            f"{limits.max_uncompressed_bytes} are read (ARCHIVE_MAX_UNCOMPRESSED_BYTES).",
            value=total,
            maximum=limits.max_uncompressed_bytes,
        )


def _measure_contents(
    archive: zipfile.ZipFile, stream: IO[bytes], limits: ArchiveLimits, measure: ArchiveMeasure
) -> None:
    names = set(archive.namelist())
    if "xl/workbook.bin" in names:
        raise ArchiveRefused(
            limit="format",
            message="Binary workbooks (XLSB) are not read: save the file as XLSX.",
            value=0,
            maximum=0,
        )
    inflated = 0
    workbook_cells = 0
    for entry in archive.infolist():
        if entry.is_dir():
            continue
        name = entry.filename
        counter: _CellCounter | None = None
        if name == "content.xml":
            counter = _OdsCells(name, limits)
        elif name.lower().endswith(".xml"):
            counter = _XlsxCells(name, limits)
        for chunk in _inflate(stream, entry):
            inflated += len(chunk)
            _check_total(inflated, limits)
            if counter is not None:
                counter.feed(chunk)
        if counter is not None:
            for sheet, cells in counter.finish():
                measure.cells[sheet] = cells
                workbook_cells += cells
                if workbook_cells > limits.max_cells:
                    raise ArchiveRefused(
                        limit="SPREADSHEET_MAX_CELLS",
                        message=f"The workbook lays out more than {limits.max_cells} cells "
                        "(SPREADSHEET_MAX_CELLS).",
                        value=workbook_cells,
                        maximum=limits.max_cells,
                    )


def _inflate(stream: IO[bytes], entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's bytes as a reader gets them, READ_CHUNK at a time: inflated from its stored
    bytes, whatever size it declares (zipfile would stop at the declared size; other readers do
    not). An entry that inflates to another size than it declares, or fails its CRC, is damaged."""
    stream.seek(entry.header_offset)
    header = stream.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size or not header.startswith(ZIP_MAGIC):
        raise zipfile.BadZipFile(f"no local header for {entry.filename!r}")
    name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
    stream.seek(entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    if entry.compress_type == zipfile.ZIP_STORED:
        decompressor = None
    elif entry.compress_type == zipfile.ZIP_DEFLATED:
        decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
    else:
        raise NotImplementedError(
            f"entry {entry.filename!r} is compressed with method {entry.compress_type}, "
            "not stored or deflated as office files are"
        )
    remaining = entry.compress_size
    size = crc = 0
    while remaining > 0:
        raw = stream.read(min(READ_CHUNK, remaining))
        if not raw:
            raise EOFError(f"entry {entry.filename!r} is truncated")
        remaining -= len(raw)
        pieces = [raw] if decompressor is None else _decompressed(decompressor, raw)
        for piece in pieces:
            size += len(piece)
            if size > entry.file_size:
                raise zipfile.BadZipFile(
                    f"entry {entry.filename!r} inflates beyond the {entry.file_size} bytes "
                    "it declares"
                )
            crc = zlib.crc32(piece, crc)
            yield piece
    if decompressor is not None and (tail := decompressor.flush()):
        size += len(tail)
        crc = zlib.crc32(tail, crc)
        yield tail
    if size != entry.file_size or crc != entry.CRC:
        raise zipfile.BadZipFile(f"entry {entry.filename!r} fails its size or CRC check")


def _decompressed(decompressor: "zlib._Decompress", raw: bytes) -> Iterator[bytes]:
    """Inflate `raw` at most READ_CHUNK bytes at a time (a megabyte of deflate can hold a
    gigabyte)."""
    piece = decompressor.decompress(raw, READ_CHUNK)
    while True:
        if piece:
            yield piece
        if not decompressor.unconsumed_tail:
            return
        piece = decompressor.decompress(decompressor.unconsumed_tail, READ_CHUNK)


class _CellCounter:
    """Counts the cells a reader lays out for the sheets of one XML entry, fed in chunks (a tag
    split between chunks is carried over), mostly with regular expressions over whole chunks: a
    sheet of millions of cells takes a second or two."""

    def __init__(self, name: str, limits: ArchiveLimits) -> None:
        self.name = name
        self.limits = limits
        self.tail = b""
        self.sheets: list[tuple[str, int]] = []

    def feed(self, chunk: bytes) -> None:
        data = self.tail + chunk
        cut = data.rfind(b"<")
        if cut == -1 or data.find(b">", cut) != -1:
            cut = len(data)
        self.tail = data[cut:]
        if len(self.tail) > MAX_TAG_BYTES:
            self.tail = b""
        self.scan(data, cut)
        self.check()

    def finish(self) -> list[tuple[str, int]]:
        self.check()
        self.end_sheet()
        return self.sheets

    def scan(self, data: bytes, end: int) -> None:
        """Take in the complete tags of data[:end]."""
        raise NotImplementedError

    def laid_out(self) -> int:
        raise NotImplementedError

    def end_sheet(self) -> None:
        raise NotImplementedError

    def check(self) -> None:
        cells = self.laid_out()
        if cells > self.limits.max_cells_per_sheet:
            raise ArchiveRefused(
                limit="SPREADSHEET_MAX_CELLS_PER_SHEET",
                message=f"A sheet of the workbook lays out more than "
                f"{self.limits.max_cells_per_sheet} cells (rows × columns up to its last cell; "
                "SPREADSHEET_MAX_CELLS_PER_SHEET).",
                value=cells,
                maximum=self.limits.max_cells_per_sheet,
            )


_ATTRIBUTE = rb"""(?:^|\s)(?:[\w.-]+:)?%s\s*=\s*["']([^"']*)["']"""


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + (letter - 64)
    return number


class _XlsxCells(_CellCounter):
    """SpreadsheetML: `<row r="n">` and `<c r="B7">`; a row or cell without `r` follows the one
    before it. A sheet lays out (last row) × (last column) cells, however few it names. Bounds:
    the furthest reference, plus the rows without a reference, plus (when cells lack one) the most
    such cells in a row."""

    ROW = re.compile(rb"<(?:[\w.-]+:)?row(?=[\s/>])")
    ROW_NUMBER = re.compile(rb"""<(?:[\w.-]+:)?row\s[^>]*?(?<=\s)r\s*=\s*["']([0-9]{1,9})["']""")
    PLAIN_ROW_NUMBER = re.compile(rb'<row r="([0-9]{1,9})"')
    CELL = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])")
    PLAIN_COLUMN = re.compile(rb'<c r="([A-Z]{1,4})[0-9]{1,9}"')
    PLAIN_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,4}([0-9]{1,9})"')
    # Only cells have an `r` of letters and digits (a row's is digits alone).
    COLUMN = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]{1,4})\$?[0-9]{1,9}["']""")
    CELL_ROW = re.compile(rb"""\sr\s*=\s*["']\$?[A-Za-z]{1,4}\$?([0-9]{1,9})["']""")

    def __init__(self, name: str, limits: ArchiveLimits) -> None:
        super().__init__(name, limits)
        self.count = 0
        self.last_row = self.unnumbered_rows = 0
        self.last_column = self.unreferenced_in_row = self.most_unreferenced = 0
        self.rows = self.columns = 0

    def scan(self, data: bytes, end: int) -> None:
        view = data[:end]
        # What Excel and most writers write (no prefix, `r` first) is counted with bytes.count
        # and two simple patterns; anything else with the general ones.
        plain = b":row" not in view and b":c " not in view
        if plain:
            rows = view.count(b"<row ") + view.count(b"<row>")
            cells = view.count(b"<c ") + view.count(b"<c>") + view.count(b"<c/>")
        else:
            rows = len(self.ROW.findall(view))
            cells = len(self.CELL.findall(view))
        # One group per pattern: a list of bytes (which the garbage collector does not track),
        # not of tuples (which it does, and with millions of them it would take the time).
        columns = self.PLAIN_COLUMN.findall(view) if plain else []
        if len(columns) == cells:
            # Every cell has its reference: they alone say how far the sheet reaches.
            cell_rows = self.PLAIN_CELL_ROW.findall(view)
        else:
            columns = self.COLUMN.findall(view)
            cell_rows = self.CELL_ROW.findall(view)
            numbers = self.PLAIN_ROW_NUMBER.findall(view) if plain else []
            if len(numbers) != rows:
                numbers = self.ROW_NUMBER.findall(view)
            self.unnumbered_rows += rows - len(numbers)
            if numbers:
                self.last_row = max(self.last_row, *map(int, set(numbers)))
        if cell_rows:
            self.last_row = max(self.last_row, *map(int, set(cell_rows)))
        if columns:
            self.last_column = max(self.last_column, *map(_column_number, set(columns)))
        references = columns
        self.count += cells
        if cells > len(references):
            self._unreferenced(view)
        elif rows:  # a new row started with no unreferenced cells
            self.unreferenced_in_row = 0
        self.rows = self.last_row + self.unnumbered_rows
        self.columns = self.last_column + self.most_unreferenced

    def _unreferenced(self, view: bytes) -> None:
        """The most cells without a reference in one row (rows split across chunks carried)."""
        segments = self.ROW.split(view)
        cells = list(map(len, map(self.CELL.findall, segments)))
        references = list(map(len, map(self.COLUMN.findall, segments)))
        counts = [c - r for c, r in zip(cells, references, strict=True)]
        counts[0] += self.unreferenced_in_row
        self.unreferenced_in_row = counts[-1]
        self.most_unreferenced = max(self.most_unreferenced, *counts)

    def laid_out(self) -> int:
        return max(self.count, self.rows * self.columns)

    def end_sheet(self) -> None:
        if self.count:
            self.sheets.append((self.name, self.laid_out()))


_ROWS_REPEATED = re.compile(_ATTRIBUTE % rb"number-rows-repeated")
_COLUMNS_REPEATED = re.compile(_ATTRIBUTE % rb"number-columns-repeated")
_NAME = re.compile(_ATTRIBUTE % rb"name")


def _repeat(pattern: re.Pattern[bytes], attributes: bytes) -> int:
    found = pattern.search(attributes)
    return int(found[1]) if found and found[1].isdigit() else 1


class _OdsCells(_CellCounter):
    """OpenDocument: `<table:table>` sheets of `<table:table-row>` rows of `<table:table-cell>`
    (or covered) cells, each row and cell possibly repeated. A sheet lays out its rows up to the
    last one with content, each as wide as the widest up to its last cell with content."""

    BOUNDARIES = re.compile(rb"<(/?)(?:[\w.-]+:)?(table|table-row)(?=[\s/>])([^>]*?)(/?)>")
    CELL = re.compile(rb"<(?:[\w.-]+:)?(?:covered-)?table-cell(?=[\s/>])([^>]*?)(/?)>")

    def __init__(self, name: str, limits: ArchiveLimits) -> None:
        super().__init__(name, limits)
        self.sheet_name = ""
        self.in_sheet = False
        self._reset()

    def _reset(self) -> None:
        self.row_position = 0
        self.height = self.width = 0
        self.filled = 0
        self.row_repeat = 1
        self.column = self.row_width = self.row_filled = 0

    def scan(self, data: bytes, end: int) -> None:
        position = 0
        for match in self.BOUNDARIES.finditer(data, 0, end):
            self.cells(data, position, match.start())
            self.boundary(match)
            position = match.end()
        self.cells(data, position, end)

    def boundary(self, match: re.Match[bytes]) -> None:
        closing, element, attributes, empty = match.groups()
        if element == b"table":
            if closing or not empty:
                self.end_sheet()
            if not closing and not empty:
                self.in_sheet = True
                found = _NAME.search(attributes)
                self.sheet_name = found[1].decode(errors="replace") if found else ""
        elif closing:
            self._end_row()
        else:
            self.row_repeat = _repeat(_ROWS_REPEATED, attributes)
            self.column = self.row_width = self.row_filled = 0
            if empty:
                self._end_row()

    def cells(self, data: bytes, start: int, end: int) -> None:
        for attributes, empty in self.CELL.findall(data, start, end):
            repeat = _repeat(_COLUMNS_REPEATED, attributes) if b"repeated" in attributes else 1
            self.column += repeat
            if not empty or b"value-type" in attributes:
                self.row_width = self.column
                self.row_filled += repeat

    def _end_row(self) -> None:
        if self.row_width:
            self.width = max(self.width, self.row_width)
            self.height = self.row_position + self.row_repeat
            self.filled += self.row_filled * self.row_repeat
        self.row_position += self.row_repeat
        self.row_repeat = 1
        self.column = self.row_width = self.row_filled = 0
        self.check()

    def laid_out(self) -> int:
        return max(self.filled, self.height * self.width)

    def end_sheet(self) -> None:
        if self.in_sheet and self.height:
            label = f"{self.name} ({self.sheet_name})" if self.sheet_name else self.name
            self.sheets.append((label, self.laid_out()))
        self.in_sheet = False
        self._reset()
