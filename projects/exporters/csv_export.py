import csv
import io
from typing import IO

from projects.exporters import COLUMNS, Rows


def write_csv(rows: Rows, out: IO[bytes]) -> int:
    """UTF-8 with BOM (so Excel opens Czech text right), comma separated; returns rows written."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow("" if cell is None else cell for cell in row.cells())
        count += 1
    text.flush()
    text.detach()  # leave `out` open for the caller
    return count
