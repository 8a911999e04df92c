"""Spreadsheet budgets (XLSX, and what else python-calamine reads: XLS, ODS), read with
python-calamine: far faster than openpyxl on big sheets.

Every visible sheet with a header row is read; the header may sit below title rows. A workbook
with several such sheets (the KROS export: one sheet per object) makes the sheet name the object,
which is part of each position's identity and section path. Recapitulation sheets are skipped.
"""

from collections.abc import Iterator
from functools import partial
from typing import BinaryIO

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from projects.importers.base import ImportFailed, ImportReport, ParsedPosition, ProgressCallback
from projects.importers.tabular import NoHeader, Row, TableReader, find_header

RECAPITULATION_PREFIXES = ("rekapitulace", "recapitulation", "summary", "zusammenfassung")


def sheet_rows(sheet) -> Iterator[Row]:
    first_row = sheet.start[0] if sheet.start else 0
    first_col = sheet.start[1] if sheet.start else 0
    for offset, cells in enumerate(sheet.iter_rows()):
        yield first_row + offset + 1, [""] * first_col + list(cells)


def sheet_row(sheet_name: str, line: int) -> str:
    return f'sheet "{sheet_name}", row {line}'


def read(
    stream: BinaryIO, *, report: ImportReport, on_progress: ProgressCallback
) -> Iterator[ParsedPosition]:
    stream.seek(0)
    try:
        workbook = CalamineWorkbook.from_filelike(stream)
    except (CalamineError, ValueError, OSError) as exc:
        raise ImportFailed(
            "unreadable_spreadsheet",
            f"The file is not a readable XLSX workbook (damaged or truncated?): {exc}",
        ) from None
    report.notes["format"] = "xlsx"
    try:
        names = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible
        ]
        sheets = []
        for name in names:
            if name.strip().casefold().startswith(RECAPITULATION_PREFIXES):
                report.notes.setdefault("skipped_sheets", []).append(name)
                continue
            sheet = workbook.get_sheet_by_name(name)
            try:
                find_header(sheet_rows(sheet))
            except NoHeader:
                report.notes.setdefault("skipped_sheets", []).append(name)
                continue
            sheets.append(sheet)
        if not sheets:
            raise ImportFailed(
                "no_header",
                f"No sheet of the workbook ({', '.join(names) or 'none'}) has a header row: "
                "expected columns such as Description, Unit, Quantity (Popis, MJ, Množství; "
                "Beschreibung, Einheit, Menge).",
            )
        total_rows = sum(sheet.height for sheet in sheets)
        done = 0
        for sheet in sheets:
            table = TableReader(
                report=report,
                location=partial(sheet_row, sheet.name),
                object_code=sheet.name if len(sheets) > 1 else "",
            )
            for position in table.read(sheet_rows(sheet)):
                yield position
                line = position.source_line
                if line is not None and line % 2000 == 0:  # a sheet's rows all have one
                    on_progress(done + line, total_rows)
            done += sheet.height
        on_progress(total_rows, total_rows)
    except CalamineError as exc:
        raise ImportFailed(
            "unreadable_spreadsheet", f"The workbook cannot be read (damaged?): {exc}"
        ) from None
    finally:
        workbook.close()
