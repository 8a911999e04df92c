"""UNIXML 1.1 and 1.2 (unixml.cz), the open Czech budget exchange format KROS exports by default.

`unixml/stavba/objekty/objekt` holds `dily/dil[/dily/dil…]/polozky/polozka` items (`typ_vety` K
work, M material: the position's kind; `typ_polozky` HSV/PSV/M: its category) with `kod_polozky`,
`cislo_polozky`, `mnozstvi`, `jednotkova_cena` (decimal comma), `cenova_soustava` (the price
system and edition) and the take-off `vykaz_vymer` (one element per line: its expression and
value). The description and unit come from the same object's
`zdroje/zdroje_konstrukce/zdroj_konstrukce` (K) or `zdroje/zdroje_materialy/zdroj_material` (M)
with the same `kod_polozky` (which may name the price system too); an item of a 1.1 file may
carry them itself (`nazev_polozky`, `merna_jednotka`). The total is the item's `cena_celkem` where
the file writes one, else quantity × unit price rounded to 0.01. A `cena_celkem` of a part, an
object or the building is a declared total (projects.reconciliation). A position's identity is its
object (`kod_objektu`) and number.

Parsed with defusedxml as a pull parser fed line by line, so memory stays flat (items are kept, as
small tuples, only until their object ends: its `zdroje` may follow its `dily`) and messages can
name the line. A DTD or entity declaration is refused: entity expansion is how XML bombs work.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO, cast
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLPullParser

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from projects.importers.base import (
    ImportFailed,
    ImportReport,
    NotANumber,
    ParsedPosition,
    ProgressCallback,
    parse_decimal,
    round_money,
)
from projects.importers.tabular import decimal_text

ROOT = "unixml"
SUPPORTED_VERSIONS = ("1.1", "1.2")
ITEM_TYPES = {"K": "zdroj_konstrukce", "M": "zdroj_material"}
RESOURCE_TAGS = frozenset(ITEM_TYPES.values())
DECLARED_TOTAL_TAGS = frozenset({"cena_celkem", "celkova_cena"})
CHUNK = 64 * 1024
# The children of a take-off line holding its expression and its value.
_EXPRESSION_TAGS = ("vyraz", "vzorec", "popis", "text")
_VALUE_TAGS = ("hodnota", "vysledek", "mnozstvi", "vymera")


@dataclass
class _Item:
    line: int
    path: str
    item_type: str
    code: str
    number: str
    quantity: str
    unit_price: str
    section: list[str]
    category: str = ""
    price_system: str = ""
    total: str = ""
    note: str = ""
    description: str = ""
    unit: str = ""
    takeoff: list[tuple[str, str, int]] = field(default_factory=list)


@dataclass
class _Object:
    code: str = ""
    name: str = ""
    items: list[_Item] = field(default_factory=list)
    # (K or M, kod_polozky) → (description, unit, price system)
    resources: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    section_names: dict[str, str] = field(default_factory=dict)
    # (part code or "" for the object, declared total as written)
    declared: list[tuple[str, str]] = field(default_factory=list)


def _text(element: Element, tag: str) -> str:
    child = element.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _first(element: Element, tags: tuple[str, ...]) -> str:
    for child in element:
        if any(tag in child.tag for tag in tags):
            value = (child.text or "").strip()
            if value:
                return value
    return ""


def _takeoff(element: Element | None, line: int) -> list[tuple[str, str, int]]:
    """The lines of a `vykaz_vymer`: (expression, value as written, line)."""
    if element is None:
        return []
    lines = []
    for offset, entry in enumerate(element):
        if len(entry):
            expression, value = _first(entry, _EXPRESSION_TAGS), _first(entry, _VALUE_TAGS)
        else:
            expression, value = (entry.text or "").strip(), ""
        if expression or value:
            lines.append((expression, value, line + offset + 1))
    return lines


def _group(parts: list[str]) -> str:
    """The lettered group (HSV, PSV, M, VRN) an item lies in: its work category."""
    top = parts[0] if parts else ""
    return "" if any(ch.isdigit() for ch in top) else top


def _pull_parser() -> XMLPullParser:
    # XMLPullParser takes its expat parser as `_parser`: the defused one refuses DTDs and entities.
    parser = DefusedXMLParser(
        target=TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    return XMLPullParser(events=("start", "end"), _parser=parser)


def _events(parser: XMLPullParser) -> Iterator[tuple[str, Element]]:
    """The parser's ("start" or "end", element) events, the only kinds it was asked for
    (typeshed types read_events() for every kind)."""
    return cast(Iterator[tuple[str, Element]], parser.read_events())


class _Reader:
    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.stack: list[Element] = []
        self.path: list[str] = []
        self.sibling_counts: list[dict[str, int]] = [{}]
        self.obj: _Object | None = None
        self.dil_codes: list[str] = []
        self.item_line = 0

    def where(self, line: int, path: str | None = None) -> str:
        return f"line {line}, {path or '/'.join(self.path)}"

    def start(self, element: Element, line: int) -> None:
        counts = self.sibling_counts[-1]
        counts[element.tag] = counts.get(element.tag, 0) + 1
        index = counts[element.tag]
        self.path.append(f"{element.tag}[{index}]" if index > 1 else element.tag)
        self.sibling_counts.append({})
        if not self.stack:
            if element.tag != ROOT:
                raise ImportFailed(
                    "not_unixml", f"The XML's root is <{element.tag}>, not <{ROOT}>: not UNIXML."
                )
            version = element.get("verze", "")
            self.report.notes["unixml_version"] = version
            if version not in SUPPORTED_VERSIONS:
                self.report.warning("unixml", f"version {version!r}; read as UNIXML 1.2")
        elif element.tag == "objekt":
            self.obj = _Object()
        elif element.tag == "dil":
            self.dil_codes.append("")
        elif element.tag == "polozka":
            self.item_line = line
        self.stack.append(element)

    def end(self, element: Element) -> Iterator[ParsedPosition]:
        tag = element.tag
        parent = self.stack[-2] if len(self.stack) > 1 else None
        obj = self.obj
        if obj is not None and parent is not None:
            if tag == "kod_objektu" and parent.tag == "objekt":
                obj.code = (element.text or "").strip()
            elif tag == "nazev_objektu" and parent.tag == "objekt":
                obj.name = (element.text or "").strip()
            elif tag == "kod_dilu" and parent.tag == "dil":
                self.dil_codes[-1] = (element.text or "").strip()
            elif tag == "zdroj_dil":
                obj.section_names[_text(element, "kod_dilu")] = _text(element, "nazev_dilu")
                self._drop(element, parent)
            elif tag in RESOURCE_TAGS:
                item_type = "K" if tag == "zdroj_konstrukce" else "M"
                description = _text(element, "plny_popis_polozky") or _text(
                    element, "zkraceny_popis_polozky"
                )
                key = (item_type, _text(element, "kod_polozky"))
                obj.resources[key] = (
                    description,
                    _text(element, "merna_jednotka"),
                    _text(element, "cenova_soustava"),
                )
                self._drop(element, parent)
            elif tag == "polozka":
                obj.items.append(
                    _Item(
                        line=self.item_line,
                        path="/".join(self.path),
                        item_type=_text(element, "typ_vety").upper(),
                        code=_text(element, "kod_polozky"),
                        number=_text(element, "cislo_polozky"),
                        quantity=_text(element, "mnozstvi"),
                        unit_price=_text(element, "jednotkova_cena"),
                        section=[c for c in self.dil_codes if c],
                        category=_text(element, "typ_polozky"),
                        price_system=_text(element, "cenova_soustava"),
                        total=_text(element, "cena_celkem"),
                        note=_text(element, "poznamka_polozky"),
                        description=_text(element, "nazev_polozky")
                        or _text(element, "popis_polozky"),
                        unit=_text(element, "merna_jednotka") or _text(element, "mj"),
                        takeoff=_takeoff(element.find("vykaz_vymer"), self.item_line),
                    )
                )
                self._drop(element, parent)
            elif tag in DECLARED_TOTAL_TAGS and parent.tag == "dil":
                code = self.dil_codes[-1] if self.dil_codes else ""
                if code:
                    obj.declared.append((code, (element.text or "").strip()))
            elif tag in DECLARED_TOTAL_TAGS and parent.tag == "objekt":
                obj.declared.append(("", (element.text or "").strip()))
            elif tag == "dil":
                self.dil_codes.pop()
            elif tag == "objekt":
                yield from self._positions(obj)
                self._declare(obj)
                self.obj = None
                self._drop(element, parent)
        elif tag in DECLARED_TOTAL_TAGS and parent is not None and parent.tag == "stavba":
            self._declare_amount("", "", (element.text or "").strip())
        self.stack.pop()
        self.path.pop()
        self.sibling_counts.pop()

    def _drop(self, element: Element, parent: Element) -> None:
        """Forget a processed element, so the tree never grows with the file."""
        element.clear()
        parent.remove(element)

    def _declare(self, obj: _Object) -> None:
        for part, amount in obj.declared:
            self._declare_amount(obj.code, part, amount)

    def _declare_amount(self, object_code: str, part: str, amount: str) -> None:
        try:
            self.report.declare(object_code, part, parse_decimal(amount, decimal_comma=True))
        except NotANumber:
            self.report.warning(
                "unixml", f"the declared total {amount!r} is not a number: not checked"
            )

    def _positions(self, obj: _Object) -> Iterator[ParsedPosition]:
        object_label = " ".join(part for part in (obj.code, obj.name) if part)
        for item in obj.items:
            if item.item_type not in ITEM_TYPES:
                self.report.count(f"skipped items of type {item.item_type or '(none)'}")
                continue
            where = self.where(item.line, item.path)
            resource = obj.resources.get((item.item_type, item.code))
            if resource is None and (item.description or item.unit):
                resource = (item.description, item.unit, "")
            if resource is None:
                self.report.error(
                    where,
                    f"item {item.code!r} has no {ITEM_TYPES[item.item_type]} in object "
                    f"{obj.code!r}, so it has no description or unit",
                    "kod_polozky",
                )
                continue
            numbers: dict[str, Decimal | None] = {}
            for name, raw in (
                ("mnozstvi", item.quantity),
                ("jednotkova_cena", item.unit_price),
                ("cena_celkem", item.total),
            ):
                try:
                    numbers[name] = parse_decimal(raw, decimal_comma=True)
                except NotANumber:
                    self.report.error(where, f'"{raw}" is not a number', name)
            if len(numbers) < 3:
                continue
            quantity, unit_price = numbers["mnozstvi"], numbers["jednotkova_cena"]
            if quantity is None:
                self.report.warning(where, "no quantity", "mnozstvi")
            total = numbers["cena_celkem"]
            if total is None and quantity is not None and unit_price is not None:
                total = round_money(quantity * unit_price)
            sections = [obj.section_names.get(code) or code for code in item.section]
            takeoff = []
            for expression, value, line in item.takeoff:
                try:
                    amount = parse_decimal(value, decimal_comma=True) if value else None
                except NotANumber:
                    amount = None
                takeoff.append(
                    {"expression": expression, "value": decimal_text(amount), "line": line}
                )
            yield ParsedPosition(
                source_line=item.line,
                position_number=item.number,
                code=item.code,
                description=" ".join(resource[0].split()),
                category=item.category or _group(item.section),
                unit=resource[1],
                quantity=quantity,
                unit_price=unit_price,
                total_price=total,
                section=" / ".join([object_label, *sections]) if object_label else "",
                object_code=obj.code,
                where_text=where,
                kind=item.item_type,
                price_system=item.price_system or resource[2],
                long_text=item.note,
                takeoff=takeoff,
                parts=tuple(item.section),
            )


def read(
    stream: BinaryIO, *, report: ImportReport, on_progress: ProgressCallback
) -> Iterator[ParsedPosition]:
    size = stream.seek(0, 2)
    stream.seek(0)
    report.notes["format"] = "unixml"
    parser = _pull_parser()
    reader = _Reader(report)
    line = 1
    seen_root = False
    try:
        while True:
            chunk = stream.readline(CHUNK)
            if not chunk:
                break
            parser.feed(chunk)
            for event, element in _events(parser):
                if event == "start":
                    seen_root = True
                    reader.start(element, line)
                else:
                    yield from reader.end(element)
            if chunk.endswith(b"\n"):
                line += 1
                if line % 5000 == 0:
                    on_progress(stream.tell(), size)
        parser.close()
        for _event, element in _events(parser):
            yield from reader.end(element)
    except DefusedXmlException as exc:
        raise ImportFailed(
            "forbidden_xml",
            f"line {line}: the XML declares a DTD or entities ({type(exc).__name__}); they are "
            "refused because entity expansion can blow up without bound.",
        ) from None
    except ParseError as exc:
        err_line, column = exc.position
        message = str(exc).split(":")[0]
        if not seen_root and err_line <= 1:
            raise ImportFailed("invalid_xml", f"The file is not XML: {message}.") from None
        raise ImportFailed(
            "invalid_xml",
            f"The XML is not well-formed: line {err_line}, column {column}: {message}.",
        ) from None
    on_progress(size, size)
