"""The KROS Export Komplet workbook the import benchmark reads, and its read by python-calamine."""

import time
from pathlib import Path


def generate_kros(items: int, directory: Path) -> Path:
    """A KROS Export Komplet of `items` items over several object sheets (about 12,500 items a
    sheet), with VV, PP and PSC rows under the items."""
    from tests.projects import budget_files

    objects = max(2, round(items / 12_500))
    budget = budget_files.make_budget(items_per_object=items // objects, objects=objects, seed=5)
    path = directory / "kros.xlsx"
    path.write_bytes(budget_files.kros_komplet(budget, write_only=True))
    return path


def calamine_read(path: Path) -> tuple[float, int]:
    """Seconds to read every cell of every sheet with python-calamine (as Python values)."""
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    rows = 0
    with path.open("rb") as stream:
        workbook = CalamineWorkbook.from_filelike(stream)
        for name in workbook.sheet_names:
            for _cells in workbook.get_sheet_by_name(name).iter_rows():
                rows += 1
        workbook.close()
    return time.perf_counter() - started, rows
