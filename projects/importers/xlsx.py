"""Spreadsheet budgets (XLSX, and what else python-calamine reads: XLS, ODS), read with
python-calamine: far faster than openpyxl on big sheets.

Every visible sheet is looked at, one at a time (a sheet is held in memory only while it is read):
a sheet whose header row is found, wherever it sits, is a bill, read by its layout
(projects.importers.layouts). Sheets that are not bills — a recapitulation, `Seznam figur`, filling
instructions, a cover — are skipped and named in the result with the reason; the totals they
declare (`Rekapitulace stavby`, RTS `Celkem za stavbu`) are kept for the reconciliation. In a
workbook of several plain bills the sheet's name is the object, part of each position's identity
and section path; KROS, RTS and ASPE sheets name their object themselves.
"""

import unicodedata
from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import BinaryIO

from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from projects.importers import kros, rts
from projects.importers.base import ImportFailed, ImportReport, ParsedPosition, ProgressCallback
from projects.importers.layouts import choose
from projects.importers.tabular import NoHeader, Row, Table, open_table

# Sheets that are never bills, by the start of their name (compared without case or accents).
NOT_BILLS = {
    "rekapitulace": "a recapitulation, not a bill",
    "recapitulation": "a recapitulation, not a bill",
    "summary": "a summary, not a bill",
    "zusammenfassung": "a summary, not a bill",
    "seznam figur": "a list of measurement figures, not a bill",
    "pokyny pro vyplneni": "filling instructions, not a bill",
    "vzorpolozky": "an item template, not a bill",
}
PROGRESS_SCALE = 1000


def _folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def not_a_bill(name: str) -> str | None:
    folded = _folded(name)
    return next((why for start, why in NOT_BILLS.items() if folded.startswith(start)), None)


def sheet_rows(sheet) -> Iterator[Row]:
    """The sheet's rows as (row number, cells from column A). python-calamine's `iter_rows`
    yields every row from the first (leading empty rows too) but only the columns from the
    first used one."""
    first_col = sheet.start[1] if sheet.start else 0
    pad = [""] * first_col
    for offset, cells in enumerate(sheet.iter_rows()):
        yield offset + 1, (pad + cells if first_col else cells)


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
        yield from _Workbook(workbook, report, on_progress).positions()
    except CalamineError as exc:
        raise ImportFailed(
            "unreadable_spreadsheet", f"The workbook cannot be read (damaged?): {exc}"
        ) from None
    finally:
        workbook.close()


class _Workbook:
    def __init__(self, workbook, report: ImportReport, on_progress: ProgressCallback) -> None:
        self.workbook = workbook
        self.report = report
        self.on_progress = on_progress
        self.names = [
            meta.name
            for meta in workbook.sheets_metadata
            if meta.typ == SheetTypeEnum.WorkSheet and meta.visible == SheetVisibleEnum.Visible
        ]
        self.skipped: dict[str, str] = {}
        self.layouts: dict[str, str] = {}

    def positions(self) -> Iterator[ParsedPosition]:
        held: Table | None = None  # a plain bill waiting to know whether it is the only one
        bills = 0
        for index, name in enumerate(self.names):
            table = self._open(name)
            if table is None:
                continue
            bills += 1
            self.layouts[name] = table.layout
            if held is not None:
                yield from self._read(held, index - 1, object_code=held.sheet_name)
                held = None
            if table.own_object:
                yield from self._read(table, index)
            elif bills == 1:
                held = table
            else:
                yield from self._read(table, index, object_code=name)
            table = None
        if held is not None:
            yield from self._read(held, len(self.names) - 1, object_code="")
        self._finish(bills)

    def _open(self, name: str) -> Table | None:
        """The sheet's bill, ready to read; None (the sheet skipped, with the reason) if the sheet
        is not a bill."""
        why = not_a_bill(name)
        if why is not None:
            if _folded(name).startswith("rekapitulace stavby"):
                sheet = self.workbook.get_sheet_by_name(name)
                kros.building_recapitulation(list(sheet_rows(sheet)), self.report)
            self._skip(name, why)
            return None
        sheet = self.workbook.get_sheet_by_name(name)
        try:
            return open_table(
                sheet_rows(sheet),
                report=self.report,
                location=partial(_sheet_location, name),
                choose=choose,
                sheet_name=name,
            )
        except NoHeader as exc:
            if rts.building_cover(list(sheet_rows(sheet)), self.report):
                self._skip(name, "a cover, not a bill (its declared total is checked)")
            else:
                self._skip(name, exc.explain())
            return None

    def _skip(self, name: str, why: str) -> None:
        self.report.notes.setdefault("skipped_sheets", []).append(name)
        self.skipped[name] = why

    def _read(
        self, table: Table, index: int, object_code: str | None = None
    ) -> Iterator[ParsedPosition]:
        if object_code is not None:
            table.object_code = table.object_label = object_code
        total = len(self.names) * PROGRESS_SCALE
        done = index * PROGRESS_SCALE
        for position in table.positions():
            yield position
            line = position.source_line or 0
            if line % 2000 == 0:
                self.on_progress(done + min(line // 100, PROGRESS_SCALE), total)
        self.on_progress(done + PROGRESS_SCALE, total)

    def _finish(self, bills: int) -> None:
        report = self.report
        if self.skipped:
            report.notes["skipped_sheet_reasons"] = dict(self.skipped)
        if self.layouts:
            report.notes["sheets"] = dict(self.layouts)
        if bills == 0:
            listed = "; ".join(f'"{name}": {why}' for name, why in self.skipped.items())
            raise ImportFailed(
                "no_header",
                f"No sheet of the workbook is a bill ({listed or 'it has no sheets'}). A bill "
                "has a header row naming its columns, such as Description, Unit, Quantity (Popis, "
                "MJ, Množství; Beschreibung, Einheit, Menge).",
                sheets=dict(self.skipped),
            )
        totals = report.declared_totals
        objects = totals.get("objects")
        if objects and "net" not in totals:
            for name in ("net", "vat", "gross"):
                amounts = [figures[name] for figures in objects.values() if name in figures]
                if amounts and len(amounts) == len(objects):
                    totals[name] = str(sum(Decimal(a) for a in amounts))


def _sheet_location(name: str, line: int) -> str:
    return f'sheet "{name}", row {line}'
