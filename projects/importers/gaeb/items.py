"""An item as it is read: its record, its figures and its kind (Position.kind)."""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from projects.importers.base import ImportReport

# Kinds as stored on positions (Position.kind; "" a plain item). Which count toward totals is
# Position.NOT_COUNTED_KINDS' business (alternatives and contingencies without total do not).
BASE, ALTERNATIVE = "base", "alternative"
CONTINGENCY, CONTINGENCY_WITHOUT_TOTAL = "contingency", "contingency_without_total"
MARKUP, LUMP_SUM, HOURLY, QTY_TBD = "markup", "lump_sum", "hourly", "qty_tbd"
MARKUP_UNIT = "%"

# Direct children of an Item / MarkupItem whose text is kept.
_ITEM_FIELDS = frozenset(
    {
        "Qty",
        "QU",
        "UP",
        "IT",
        "Provis",
        "ALNGroupNo",
        "ALNSerNo",
        "LumpSumItem",
        "HourIt",
        "QtyTBD",
        "MarkupIt",
        "ITMarkup",
        "Markup",
        "NotAppl",
    }
)
_NUMBERS = ("Qty", "UP", "IT", "ITMarkup", "Markup")
_YES = "Yes"


@dataclass(slots=True)
class _Item:
    tag: str
    number: str
    index: str
    line: int
    path: str
    depth: int
    values: dict[str, str] = field(default_factory=dict)
    short_text: str = ""
    long_text: str = ""


def item_numbers(item: _Item, where: str, report: ImportReport) -> dict[str, Decimal | None] | None:
    """The item's figures as decimals (None where absent); None when one is not a number."""
    numbers: dict[str, Decimal | None] = {}
    ok = True
    for name in _NUMBERS:
        raw = item.values.get(name)
        if raw is None or raw == "":
            numbers[name] = None
            continue
        try:
            value = Decimal(raw)
        except InvalidOperation:
            numbers[name] = None
            ok = False
            report.error(where, f'"{raw}" is not a number', name)
        else:
            numbers[name] = value
            if not value.is_finite():
                ok = False
                report.error(where, f'"{raw}" is not a number', name)
    return numbers if ok else None


def item_kind(item: _Item, where: str, report: ImportReport, aln_bases: dict[str, int]) -> str:
    """The item's kind; `aln_bases` holds each alternative group's base serial, as read so far."""
    values = item.values
    if item.tag == "MarkupItem":
        return MARKUP
    group, serial = values.get("ALNGroupNo", ""), values.get("ALNSerNo", "")
    if group:
        try:
            number = int(serial or "0")
        except ValueError:
            number = 0
            report.warning(where, f'"{serial}" is not a serial number', "ALNSerNo")
        base = aln_bases.get(group)
        if base is None or number == base:
            aln_bases[group] = number
            return BASE
        if number < base:
            report.warning(
                where,
                f"alternative group {group}: serial {number} comes after serial {base}, "
                f"which was read as the base item",
            )
        return ALTERNATIVE
    provis = values.get("Provis", "")
    if provis == "WithoutTotal":
        return CONTINGENCY_WITHOUT_TOTAL
    if provis == "WithTotal":
        return CONTINGENCY
    if values.get("MarkupIt") == _YES:
        return MARKUP
    if values.get("LumpSumItem") == _YES:
        return LUMP_SUM
    if values.get("HourIt") == _YES:
        return HOURLY
    if values.get("QtyTBD") == _YES:
        return QTY_TBD
    return ""
