"""What the GAEB tests share: the samples, and a bill read as positions with its report."""

import io
from decimal import Decimal
from pathlib import Path

from projects.importers import ImportReport, ParsedPosition, rows_from_positions
from projects.importers import gaeb as reader
from projects.models import Position

D = Decimal
DATA = Path(__file__).resolve().parents[1] / "data" / "gaeb"
SAMPLES = sorted(path.name for path in DATA.glob("gaebphp_*"))


def positions(data: bytes, name: str = "bill.x86") -> tuple[list[ParsedPosition], ImportReport]:
    """What the GAEB reader yields, and its report once the rows are made (and reconciled)."""
    report = ImportReport()
    found = list(
        reader.read(io.BytesIO(data), report=report, on_progress=lambda *_: None, filename=name)
    )
    list(rows_from_positions(found, report=report))
    return found, report


def counted_total(found: list[ParsedPosition]) -> Decimal:
    return sum(
        (p.total_price or D(0) for p in found if p.kind not in Position.NOT_COUNTED_KINDS), D(0)
    )


def differences(report: ImportReport) -> dict[str, Decimal]:
    """Computed − declared per reconciled part ("" the whole bill)."""
    return {row["part"]: -D(row["difference"]) for row in report.reconciliation}
