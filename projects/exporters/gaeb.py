"""A version as GAEB DA XML 3.3: an X83 tender (texts, quantities, units, kinds; no prices) or an
X84 bid (quantities, prices and totals only: the X84 schema has no texts, units or kinds, which
a bid takes from the tender it answers), valid against the official schemas.

The bill's structure comes from the position numbers: when they are GAEB-shaped (dot-separated
parts of at most 14 letters, digits or `_`; a last part of one letter after an item-long part
is an index), the leading parts are the categories and the last the item, and `BoQBkdn` says each
level's length (numeric only where every part of the level is digits of that length, so a
re-import pads nothing). Otherwise the positions are numbered anew: one level of categories, one
per section, items 0001… within each (the result says so). Category labels are the section's parts.

Two passes over the rows (the X84 declares every category's total before its items): the caller
gives a function that reads them again. The file is written as it goes; nothing is held but the
open categories. Numbers the schema holds to fewer decimals (quantity 3, unit price 3) are rounded
half up, and the result counts them.
"""

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import IO
from xml.sax.saxutils import escape, quoteattr

from projects.models import NOT_COUNTED_KINDS

VERSION, VERS_DATE = "3.3", "2021-05"
PHASES = {"83": "tender", "84": "bid"}
MARKUP_KIND = "markup"
_PART = re.compile(r"[0-9A-Za-z_]{1,14}")
_INDEX = re.compile(r"[0-9A-Za-z_]")
# Characters XML 1.0 cannot carry at all.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MONEY = Decimal("0.01")
# Decimal places the schema allows quantities, unit prices and markups (percent): rounded to them.
_QTY, _UP, _PCT = 3, 3, 6
_QUANTA = {places: Decimal(1).scaleb(-places) for places in (_QTY, _UP, _PCT)}
MAX_CATEGORY_LEVELS = 5  # BoQBkdn holds at most 7 entries: levels, the item and its index
UNIT_LENGTH = 4  # QU is at most 4 characters
NAME_LENGTH, LABEL_LENGTH = 20, 60


@dataclass(frozen=True)
class GaebRow:
    section: str
    position_number: str
    description: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    total_price: Decimal | None
    kind: str
    long_text: str


# How a position is numbered in the file: (its categories' numbers, its item number, its index).
Numbering = Callable[[GaebRow], tuple[tuple[str, ...], str, str]]


@dataclass
class _Shape:
    """How the position numbers map onto categories, items and indexes."""

    renumber: bool
    levels: int = 0
    lengths: list[int] = field(default_factory=list)  # per category level, then the item
    numeric: list[bool] = field(default_factory=list)
    index: bool = False
    item_length: int = 0  # the usual length of an item's number: tells an index from an item


@dataclass
class GaebExport:
    """What was written: positions, and what the format made of them."""

    rows: int = 0
    notes: dict[str, int | str] = field(default_factory=dict)

    def count(self, note: str) -> None:
        self.notes[note] = int(self.notes.get(note, 0)) + 1


def _split(parts: list[str], item_length: int) -> tuple[tuple[str, ...], str, str]:
    """(categories, item, index) of a GAEB-shaped number: a last part of one character after a
    part of the usual item length is an index (`01.0040.1`)."""
    if len(parts) >= 2 and len(parts[-1]) == 1 and len(parts[-2]) == item_length > 1:
        return tuple(parts[:-2]), parts[-2], parts[-1]
    return tuple(parts[:-1]), parts[-1], ""


def _shape(rows: Iterable[GaebRow]) -> _Shape:
    """How the rows' numbers become categories, items and indexes; `renumber` when they cannot:
    a part GAEB does not allow, categories deeper than BoQBkdn allows, or a category that would
    hold both items and categories (a BoQ body holds one or the other)."""
    split: list[list[str]] = []
    lengths: Counter[int] = Counter()
    for row in rows:
        parts = row.position_number.split(".") if row.position_number else []
        if not parts or not all(_PART.fullmatch(part) for part in parts):
            return _Shape(renumber=True)
        split.append(parts)
        if len(parts[-1]) > 1:
            lengths[len(parts[-1])] += 1
    if not split:
        return _Shape(renumber=True)
    item_length = lengths.most_common(1)[0][0] if lengths else 0
    holds_items: set[tuple[str, ...]] = set()
    holds_categories: set[tuple[str, ...]] = set()
    levels: list[set[str]] = []
    items: set[str] = set()
    index = False
    for parts in split:
        categories, item, item_index = _split(parts, item_length)
        index = index or bool(item_index)
        holds_items.add(categories)
        for depth, number in enumerate(categories):
            holds_categories.add(categories[:depth])
            if depth == len(levels):
                levels.append(set())
            levels[depth].add(number)
        items.add(item)
    if len(levels) > MAX_CATEGORY_LEVELS or holds_items & holds_categories:
        return _Shape(renumber=True)
    shape = _Shape(renumber=False, levels=len(levels), index=index, item_length=item_length)
    for values in [*levels, items]:
        value_lengths = {len(value) for value in values}
        shape.lengths.append(max(value_lengths))
        # Numeric only where every part has the full length: a re-import pads nothing.
        shape.numeric.append(len(value_lengths) == 1 and all(v.isdigit() for v in values))
    return shape


def _category_totals(
    rows: Iterable[GaebRow], numbering: Numbering
) -> tuple[dict[tuple[str, ...], Decimal], Decimal]:
    totals: dict[tuple[str, ...], Decimal] = {}
    whole = Decimal(0)
    for row in rows:
        if row.kind in NOT_COUNTED_KINDS or row.total_price is None:
            continue
        categories, _, _ = numbering(row)
        for depth in range(1, len(categories) + 1):
            key = categories[:depth]
            totals[key] = totals.get(key, Decimal(0)) + row.total_price
        whole += row.total_price
    return totals, whole


class _Renumbering:
    """Numbers for positions whose own are not GAEB-shaped: a category per section (in the order
    met), items 0001… within it."""

    def __init__(self, rows: Iterable[GaebRow]) -> None:
        self.sections: dict[str, str] = {}
        counts: dict[str, int] = {}
        for row in rows:
            if row.section not in self.sections:
                self.sections[row.section] = ""
            counts[row.section] = counts.get(row.section, 0) + 1
        width = max(2, len(str(len(self.sections))))
        for number, section in enumerate(self.sections, start=1):
            self.sections[section] = str(number).zfill(width)
        self.item_width = max(4, len(str(max(counts.values(), default=1))))
        self.next: dict[str, int] = {}

    def __call__(self, row: GaebRow) -> tuple[tuple[str, ...], str, str]:
        self.next[row.section] = number = self.next.get(row.section, 0) + 1
        return (self.sections[row.section],), str(number).zfill(self.item_width), ""


def _numbering(shape: _Shape) -> Numbering:
    def split(row: GaebRow) -> tuple[tuple[str, ...], str, str]:
        return _split(row.position_number.split("."), shape.item_length)

    return split


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _paragraphs(text: str) -> str:
    return "".join(
        f"<p><span>{_text(line)}</span></p>" for line in text.split("\n") if line.strip()
    )


def _number(value: Decimal, places: int, export: GaebExport, what: str) -> str:
    rounded = value.quantize(_QUANTA[places], rounding=ROUND_HALF_UP)
    if rounded != value:
        export.count(f"{what} rounded to {places} decimals")
    return str(rounded)


class _Writer:
    def __init__(self, out: IO[bytes], phase: str, export: GaebExport) -> None:
        self.out = out
        self.phase = phase
        self.export = export
        self.buffer: list[str] = []
        self.ids = 0
        self.aln_group = 0
        self.aln_serial = -1

    def write(self, text: str) -> None:
        self.buffer.append(text)
        if len(self.buffer) >= 512:
            self.flush()

    def flush(self) -> None:
        self.out.write("".join(self.buffer).encode())
        self.buffer.clear()

    def next_id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}{self.ids}"

    def item(self, row: GaebRow, number: str, index: str) -> None:
        attributes = f'ID="{self.next_id("I")}" RNoPart={quoteattr(number)}'
        if index:
            attributes += f" RNoIndex={quoteattr(index)}"
        if row.kind == MARKUP_KIND:
            self.write(f"<MarkupItem {attributes}>{self._markup(row)}</MarkupItem>\n")
        else:
            self.write(f"<Item {attributes}>{self._item(row)}</Item>\n")

    def _kinds(self, kind: str) -> str:
        if kind == "base":
            self.aln_group += 1
            self.aln_serial = 0
            return f"<ALNGroupNo>{self.aln_group}</ALNGroupNo><ALNSerNo>0</ALNSerNo>"
        if kind == "alternative":
            if self.aln_serial < 0 or self.aln_serial >= 9:  # no base before it: a group of its own
                self.aln_group += 1
                self.aln_serial = 0
                self.export.count("alternatives without a base item before them")
            self.aln_serial += 1
            return (
                f"<ALNGroupNo>{self.aln_group}</ALNGroupNo><ALNSerNo>{self.aln_serial}</ALNSerNo>"
            )
        self.aln_serial = -1
        return {
            "contingency": "<Provis>WithTotal</Provis>",
            "contingency_without_total": "<Provis>WithoutTotal</Provis>",
            "lump_sum": "<LumpSumItem>Yes</LumpSumItem>",
            "hourly": "<HourIt>Yes</HourIt>",
        }.get(kind, "")

    def _item(self, row: GaebRow) -> str:
        export = self.export
        parts = []
        if self.phase == "83":
            parts.append(self._kinds(row.kind))
        if row.kind == "qty_tbd" and row.quantity is None:
            if self.phase == "83":
                parts.append("<QtyTBD>Yes</QtyTBD>")
        elif row.quantity is not None:
            parts.append(f"<Qty>{_number(row.quantity, _QTY, export, 'quantities')}</Qty>")
        if self.phase == "83":
            unit = row.unit
            if len(unit) > UNIT_LENGTH:
                export.count(f"units cut to {UNIT_LENGTH} characters")
                unit = unit[:UNIT_LENGTH]
            parts.append(f"<QU>{_text(unit)}</QU>")
            parts.append(self._description(row))
        else:
            if row.unit_price is not None:
                parts.append(f"<UP>{_number(row.unit_price, _UP, export, 'unit prices')}</UP>")
            if row.total_price is not None:
                parts.append(f"<IT>{row.total_price.quantize(_MONEY)}</IT>")
        return "".join(parts)

    def _markup(self, row: GaebRow) -> str:
        if self.phase == "83":
            return f"<MarkupType>AllInCat</MarkupType>{self._description(row)}"
        parts = []
        if row.unit_price is not None:
            parts.append(f"<ITMarkup>{(row.unit_price * 100).quantize(_MONEY)}</ITMarkup>")
        if row.quantity is not None:
            parts.append(f"<Markup>{_number(row.quantity, _PCT, self.export, 'markups')}</Markup>")
        if row.total_price is not None:
            parts.append(f"<IT>{row.total_price.quantize(_MONEY)}</IT>")
        return "".join(parts)

    def _description(self, row: GaebRow) -> str:
        detail = (
            f"<DetailTxt><Text>{_paragraphs(row.long_text)}</Text></DetailTxt>"
            if row.long_text.strip()
            else "<DetailTxt/>"
        )
        outline = (
            f"<OutlineText><OutlTxt><TextOutlTxt>{_paragraphs(row.description)}"
            "</TextOutlTxt></OutlTxt></OutlineText>"
            if row.description.strip()
            else ""
        )
        return f"<Description><CompleteText>{detail}{outline}</CompleteText></Description>"


def write_gaeb(
    rows: Callable[[], Iterator[GaebRow]],
    out: IO[bytes],
    *,
    phase: str,
    project_name: str,
    currency: str,
    bill_name: str,
    contractor: str,
    day: date,
) -> GaebExport:
    """Write the rows `rows()` yields (called twice: the numbering and the totals first) as a
    GAEB DA XML 3.3 file of `phase` (83 or 84) to `out`."""
    if phase not in PHASES:
        raise ValueError(f"phase: one of {sorted(PHASES)}, not {phase!r}")
    export = GaebExport()
    shape = _shape(rows())
    numbering: Numbering
    if shape.renumber:
        # Its own type while its sections and widths are read; a Numbering like any other after.
        renumbering = _Renumbering(rows())
        numbering = renumbering
        export.notes["renumbered"] = "the position numbers are not GAEB-shaped: numbered anew"
        levels, lengths = 1, [len(next(iter(renumbering.sections.values()), "01"))]
        lengths.append(renumbering.item_width)
        numeric = [True, True]
    else:
        numbering = _numbering(shape)
        levels, lengths, numeric = shape.levels, shape.lengths, shape.numeric
    category_totals, whole = _category_totals(rows(), numbering)
    if shape.renumber:
        numbering = _Renumbering(rows())  # its counters start again for the writing pass

    writer = _Writer(out, phase, export)
    namespace = f"http://www.gaeb.de/GAEB_DA_XML/DA{phase}/{VERSION}"
    cur = _text(currency)
    writer.write(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<GAEB xmlns="{namespace}">\n'
        f"<GAEBInfo><Version>{VERSION}</Version><VersDate>{VERS_DATE}</VersDate>"
        f"<Date>{day.isoformat()}</Date><ProgSystem>Kalkula</ProgSystem></GAEBInfo>\n"
        f"<PrjInfo><NamePrj>{_text(project_name[:LABEL_LENGTH])}</NamePrj></PrjInfo>\n"
        f"<Award><DP>{phase}</DP><AwardInfo><Cur>{cur}</Cur></AwardInfo>\n"
    )
    if phase == "84":
        writer.write(
            f"<CTR><Address><Name1>{_text(contractor[:40])}</Name1><Street/><PCode/><City/>"
            "</Address></CTR>\n"
        )
    bkdn = "".join(
        f"<BoQBkdn><Type>{'BoQLevel' if level < levels else 'Item'}</Type>"
        f"<Length>{lengths[level]}</Length><Num>{'Yes' if numeric[level] else 'No'}</Num>"
        "</BoQBkdn>"
        for level in range(levels + 1)
    )
    if not shape.renumber and shape.index:
        bkdn += "<BoQBkdn><Type>Index</Type><Length>1</Length><Num>No</Num></BoQBkdn>"
    info = f"<Name>{_text(bill_name[:NAME_LENGTH])}</Name>"
    if phase == "83":
        label = _text(project_name[:LABEL_LENGTH])
        info += f"<LblBoQ>{label}</LblBoQ><OutlCompl>AllTxt</OutlCompl>{bkdn}"
    else:
        info += f"{bkdn}<Totals><Total>{whole.quantize(_MONEY)}</Total></Totals>"
    writer.write(f'<BoQ ID="B1"><BoQInfo>{info}</BoQInfo>\n<BoQBody>\n')

    open_categories: list[str] = []  # numbers of the open BoQCtgy elements, outermost first
    in_list = False
    for row in rows():
        categories, number, index = numbering(row)
        common = 0
        while (
            common < len(open_categories)
            and common < len(categories)
            and open_categories[common] == categories[common]
        ):
            common += 1
        if common < len(open_categories) or (in_list and len(categories) > common):
            if in_list:
                writer.write("</Itemlist>\n")
                in_list = False
            while len(open_categories) > common:
                key = tuple(open_categories)
                open_categories.pop()
                writer.write(_category_end(phase, category_totals.get(key)))
        labels = row.section.split(" / ") if not shape.renumber else [row.section]
        for depth in range(common, len(categories)):
            open_categories.append(categories[depth])
            label = labels[depth] if len(labels) == len(categories) else ""
            if phase == "83" and not label:
                label = ".".join(categories[: depth + 1])
            writer.write(
                f'<BoQCtgy ID="{writer.next_id("C")}" RNoPart={quoteattr(categories[depth])}>'
                + (f"<LblTx>{_paragraphs(label)}</LblTx>" if phase == "83" else "")
                + "<BoQBody>\n"
            )
        if not in_list:
            writer.write("<Itemlist>\n")
            in_list = True
        writer.item(row, number, index)
        export.rows += 1
    if in_list:
        writer.write("</Itemlist>\n")
    while open_categories:
        key = tuple(open_categories)
        open_categories.pop()
        writer.write(_category_end(phase, category_totals.get(key)))
    writer.write("</BoQBody></BoQ></Award></GAEB>\n")
    writer.flush()
    return export


def _category_end(phase: str, total: Decimal | None) -> str:
    if phase == "83":
        return "</BoQBody></BoQCtgy>\n"
    total_text = (total or Decimal(0)).quantize(_MONEY)
    return f"</BoQBody><Totals><Total>{total_text}</Total></Totals></BoQCtgy>\n"
