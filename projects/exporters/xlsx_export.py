from typing import IO

from projects.exporters import COLUMNS, Rows

SHEET_TITLE = "Budget"


def write_xlsx(rows: Rows, out: IO[bytes]) -> int:
    """A write-only workbook (rows stream to disk, not memory); returns rows written."""
    # Imported here: only export jobs need openpyxl, and loading it costs every web worker ~7 MB.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET_TITLE)
    sheet.append(COLUMNS)
    count = 0
    for row in rows:
        cells = []
        for value in row.cells():
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never let openpyxl read "=…" as a formula
            cells.append(cell)
        sheet.append(cells)
        count += 1
    workbook.save(out)
    return count
