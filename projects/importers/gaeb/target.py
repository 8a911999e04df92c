"""The expat target: the handlers that read a GAEB file's elements as they open and close."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.parsers.expat import XMLParserType

from projects.importers.base import (
    ImportFailed,
    ImportReport,
    ParsedPosition,
    PreviousPositions,
    round_money,
)
from projects.importers.gaeb.items import (
    _ITEM_FIELDS,
    _YES,
    ALTERNATIVE,
    BASE,
    LUMP_SUM,
    MARKUP,
    MARKUP_UNIT,
    _Item,
    item_kind,
    item_numbers,
)
from projects.importers.gaeb.phases import (
    _NAMESPACE_PHASE,
    BID_PHASE,
    BILL_PHASES,
    NAMESPACE_PREFIX,
    OTHER_PHASES,
    ROOT,
)
from projects.importers.gaeb.totals import _TOTALS_FIELDS, Totals

_ITEMS = frozenset({"Item", "MarkupItem"})
_NOTES = frozenset({"Remark", "PerfDescr"})
_ITEM_TEXTS = frozenset({"OutlineText", "DetailTxt"})
# Elements numbered in paths when they have same-named siblings (`Itemlist/Item[3]`).
_NUMBERED = frozenset({"BoQ", "BoQCtgy", "Itemlist", "Item", "MarkupItem", "Remark", "PerfDescr"})
# Elements that end a line of text (a paragraph, a list entry, a table cell, a line break).
_LINE_ENDS = frozenset(
    {"p", "div", "li", "br", "tr", "td", "ComplCaption", "ComplBody", "ComplTail"}
)
_INFO_FIELDS = {
    ("GAEBInfo", "Version"): "version",
    ("Award", "DP"): "dp",
    ("AwardInfo", "Cur"): "currency",
    ("PrjInfo", "Cur"): "currency",
    ("BoQInfo", "Cur"): "currency",
    ("BoQInfo", "Name"): "boq_name",
    ("BoQInfo", "LblBoQ"): "boq_label",
    ("PrjInfo", "NamePrj"): "project_name",
}
_BKDN_FIELDS = frozenset({"Type", "Length", "Num"})


@dataclass(slots=True)
class _Category:
    number: str
    label: str = ""
    line: int = 0
    declared: dict[str, Decimal] = field(default_factory=dict)
    # [its number, its declared total]: its row of Totals.categories, the total filled at its end.
    row: list[str | Decimal | None] = field(default_factory=list)


def _flatten(parts: list[str]) -> str:
    """Text gathered from rich-text markup: each line's whitespace collapsed, empty lines
    dropped, lines joined by newlines."""
    lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
    return "\n".join([line for line in lines if line])


class _Target:
    """The parser's target: reads elements as they open and close, yields positions by way of
    `self.ready` (drained by `read` after every chunk). It installs its handlers on `parser`."""

    def __init__(
        self,
        report: ImportReport,
        filename: str,
        previous: PreviousPositions | None,
        parser: XMLParserType,
    ) -> None:
        self.report = report
        self.filename = filename
        self.previous_positions = previous
        self.previous: dict[str, dict[str, str]] | None = None
        self.completed = 0
        self.parser = parser
        self.names: list[str] = []  # the open elements' local names
        # Sibling numbers of the open elements that have same-named siblings before them (by
        # depth), and the counts of such children under each open element (by its depth).
        self.indexes: dict[int, int] = {}
        self.child_counts: dict[int, dict[str, int]] = {}
        self.local_names: dict[str, str] = {}
        self.list_path: str | None = None  # the path of the open item list
        self.info: dict[str, str] = {}
        self.phase = ""
        self.phase_from_namespace = ""
        self.namespace = ""
        self.bkdn: list[dict[str, str]] = []
        self.categories: list[_Category] = []
        # The item (or remark) being read. Set when one opens, before item_start / item_end (the
        # handlers that use it) are switched in; it is not read once they are switched out.
        self.item: _Item
        self.text: list[str] | None = None  # the element text being gathered, None when none is
        # The rich text being gathered: read only while rich_start / rich_end are switched in (the
        # last one's parts stay until the next begins).
        self.rich: list[str] = []
        self.rich_kind = ""
        self.rich_depth = 0
        self.totals: dict[str, str] | None = None
        self.totals_owner = ""
        self.ready: list[ParsedPosition] = []
        self.result = Totals()
        self.aln_bases: dict[str, int] = {}
        self.notes: list[str] = []
        self.positions = 0
        self.level_shapes: list[tuple[int, bool]] = []
        self.item_shape: tuple[int, bool] | None = None
        self.category_number = ""
        self.category_parts: tuple[str, ...] = ()
        self.section = ""
        self._handlers(self.start, self.end)

    # Where we are -------------------------------------------------------------------------------
    @property
    def line(self) -> int:
        return self.parser.CurrentLineNumber

    def path(self) -> str:
        """The open elements from the root, numbered where they have same-named siblings."""
        indexes = self.indexes
        return "/".join(
            f"{name}[{indexes[depth]}]" if depth in indexes else name
            for depth, name in enumerate(self.names, start=1)
        )

    def where(self, line: int | None = None, path: str | None = None) -> str:
        return f"line {line or self.line}, {path or self.path()}"

    # The parser's handlers ------------------------------------------------------------------------
    # Three pairs, switched as the parser enters and leaves an item or a text: what happens inside
    # an item (most of a file) is a fraction of what must be checked outside one.
    def start(self, tag: str, attrib: dict[str, str]) -> None:
        """An element outside items and texts."""
        name = self.local_names.get(tag)
        if name is None:
            name = self.local_names[tag] = tag[tag.rfind("}") + 1 :]
        names = self.names
        parent = names[-1] if names else ""
        names.append(name)
        depth = len(names)
        if name in _NUMBERED:
            counts = self.child_counts.get(depth - 1)
            if counts is None:
                counts = self.child_counts[depth - 1] = {}
            counts[name] = index = counts.get(name, 0) + 1
            if index > 1:
                self.indexes[depth] = index
        if depth == 1:
            self._root(tag, name)
        elif name in _ITEMS or name in _NOTES:
            number = attrib.get("RNoPart", "").strip() if name in _ITEMS else ""
            # The items of a list share the path up to it: worked out once per list.
            if self.list_path is None:
                self.list_path = "/".join(self.path().split("/")[:-1])
            sibling = self.indexes.get(depth)
            self.item = _Item(
                tag=name,
                number=number,
                index=attrib.get("RNoIndex", "").strip(),
                line=self.line,
                path=(
                    f"{self.list_path}/{name}[{sibling}]" if sibling else f"{self.list_path}/{name}"
                ),
                depth=depth,
            )
            self._handlers(self.item_start, self.item_end)
        elif name == "BoQCtgy":
            self.list_path = None
            category = _Category(number=attrib.get("RNoPart", "").strip(), line=self.line)
            self.categories.append(category)
            self._category_changed()
            # What it declares, in file order (outer categories first); filled at its end.
            category.row = [self.category_number, None]
            self.result.categories.append(category.row)
        elif name == "LblTx" and parent == "BoQCtgy":
            self._rich_start("label", depth)
        elif name == "Totals" and parent in ("BoQCtgy", "BoQInfo"):
            self.totals = {}
            self.totals_owner = parent
        elif self.totals is not None and parent == "Totals" and name in _TOTALS_FIELDS:
            self._collect()
        elif (parent, name) in _INFO_FIELDS or (parent == "BoQBkdn" and name in _BKDN_FIELDS):
            self._collect()
        elif name == "BoQBkdn" and parent == "BoQInfo":
            self.bkdn.append({})

    def end(self, tag: str) -> None:
        self.list_path = None
        names = self.names
        name = names.pop()
        depth = len(names) + 1
        self.child_counts.pop(depth, None)
        self.indexes.pop(depth, None)
        text = self.text
        if text is not None:
            value = self._collected(text)
            parent = names[-1] if names else ""
            if parent == "Totals" and self.totals is not None:
                self.totals[name] = value
            elif parent == "BoQBkdn" and self.bkdn:
                self.bkdn[-1][name] = value
            else:
                self.info[_INFO_FIELDS[(parent, name)]] = value
                if name == "DP":
                    self._phase(value, from_dp=True)
        elif name == "BoQCtgy":
            self._category_end()
        elif name == "Totals" and self.totals is not None:
            self._totals_end()
        elif name == "BoQInfo":
            self._bkdn_end()

    def item_start(self, tag: str, attrib: dict[str, str]) -> None:
        """An element inside an item (or a remark): its fields and its own description's texts."""
        name = self.local_names.get(tag)
        if name is None:
            name = self.local_names[tag] = tag[tag.rfind("}") + 1 :]
        names = self.names
        names.append(name)
        depth = len(names)
        item = self.item
        if depth == item.depth + 1:
            if name in _ITEM_FIELDS:
                self._collect()
        elif name in _ITEM_TEXTS and names[item.depth] == "Description" and depth <= item.depth + 4:
            self._rich_start("short" if name == "OutlineText" else "long", depth)

    def item_end(self, tag: str) -> None:
        names = self.names
        name = names.pop()
        text = self.text
        if text is not None:
            self.item.values[name] = self._collected(text)
        elif len(names) < self.item.depth:
            item = self.item
            self.indexes.pop(item.depth, None)
            self._handlers(self.start, self.end)
            if name in _NOTES:
                self._note(item)
            else:
                self._item_end(item)

    def rich_start(self, tag: str, attrib: dict[str, str]) -> None:
        """An element of a text (paragraphs, spans, lists, tables)."""
        name = self.local_names.get(tag)
        if name is None:
            name = self.local_names[tag] = tag[tag.rfind("}") + 1 :]
        self.names.append(name)

    def rich_end(self, tag: str) -> None:
        name = self.names.pop()
        if name in _LINE_ENDS:
            self.rich.append("\n")
        if len(self.names) < self.rich_depth:
            self._rich_end()

    def _handlers(self, start: Callable, end: Callable) -> None:
        self.parser.StartElementHandler = start
        self.parser.EndElementHandler = end

    def _collect(self) -> None:
        """Gather the text of the element just opened."""
        self.text = []
        self.parser.CharacterDataHandler = self.text.append

    def _collected(self, text: list[str]) -> str:
        """The text gathered since `_collect` (`text`: `self.text`, which the caller has found
        set); the gathering stops."""
        value = "".join(text).strip()
        self.text = None
        self.parser.CharacterDataHandler = None
        return value

    # Parts ----------------------------------------------------------------------------------------
    def _root(self, tag: str, name: str) -> None:
        if name != ROOT:
            raise ImportFailed(
                "not_gaeb", f"The XML's root is <{name}>, not <{ROOT}>: not GAEB DA XML."
            )
        self.namespace = tag[: tag.rfind("}")] if "}" in tag else ""
        if self.namespace and not self.namespace.startswith(NAMESPACE_PREFIX):
            raise ImportFailed(
                "not_gaeb",
                f"The XML's namespace is {self.namespace!r}, not GAEB DA XML's "
                f"({NAMESPACE_PREFIX}…).",
            )
        match = _NAMESPACE_PHASE.search(self.namespace)
        if match:
            self.phase_from_namespace = match.group(1).upper()
            self.info["namespace_version"] = match.group(2)
            self._phase(self.phase_from_namespace, from_dp=False)

    def _phase(self, value: str, *, from_dp: bool) -> None:
        phase = value.strip().upper()
        if phase in OTHER_PHASES or phase.split(".")[0] in OTHER_PHASES:
            described = OTHER_PHASES.get(phase) or OTHER_PHASES[phase.split(".")[0]]
            raise ImportFailed(
                "not_a_bill",
                f"This GAEB file is an {described}, not a bill of quantities: only the bill phases "
                f"({', '.join('X' + p for p in BILL_PHASES)}) can be imported as a budget.",
                phase=f"X{phase}",
            )
        if from_dp and self.phase_from_namespace and phase != self.phase_from_namespace:
            self.report.warning(
                self.where(),
                f"Award/DP says X{phase}, the namespace X{self.phase_from_namespace}: read as "
                f"X{phase}",
            )
        self.phase = phase

    def _bkdn_end(self) -> None:
        """The lengths of the category levels and of the item number, from BoQBkdn."""
        for entry in self.bkdn:
            try:
                shape = (int(entry.get("Length", "0")), entry.get("Num", _YES) == _YES)
            except ValueError:
                continue
            if entry.get("Type") in ("Lot", "BoQLevel"):
                self.level_shapes.append(shape)
            elif entry.get("Type") == "Item":
                self.item_shape = shape

    def _shaped(self, part: str, shape: tuple[int, bool] | None) -> str:
        """A number part padded with zeros to its BoQBkdn length when the level is numeric."""
        if shape is None or not part.isdigit():
            return part
        length, numeric = shape
        return part.zfill(length) if numeric else part

    def _category_changed(self) -> None:
        """Work out again what the items of the open categories share: the categories' number
        (`01.02`), their parts (`01`, `01.02`: whose declared totals the items count toward) and
        the section (their labels; a category without one by its number)."""
        shapes = self.level_shapes
        numbers: list[str] = []
        parts: list[str] = []
        labels: list[str] = []
        for at, category in enumerate(self.categories):
            if category.number:
                numbers.append(
                    self._shaped(category.number, shapes[at] if at < len(shapes) else None)
                )
                parts.append(".".join(numbers))
            labels.append(category.label or ".".join(numbers))
        self.category_number = parts[-1] if parts else ""
        self.category_parts = tuple(parts)
        self.section = " / ".join(labels)

    def _number(self, item: _Item) -> str:
        number = self._shaped(item.number, self.item_shape)
        parts = (self.category_number, number, item.index)
        return ".".join(part for part in parts if part)

    def _rich_start(self, kind: str, depth: int) -> None:
        self.rich = []
        self.rich_kind = kind
        self.rich_depth = depth
        self.parser.CharacterDataHandler = self.rich.append
        self._handlers(self.rich_start, self.rich_end)

    def _rich_end(self) -> None:
        text = _flatten(self.rich)
        self.parser.CharacterDataHandler = None
        if self.rich_kind == "label":
            # A category's label: `start` began it, outside items.
            self._handlers(self.start, self.end)
            if self.categories:
                self.categories[-1].label = " ".join(text.split())
                self._category_changed()
        else:
            # An item's short or long text: `item_start` began it, inside `self.item`.
            self._handlers(self.item_start, self.item_end)
            if self.rich_kind == "short":
                self.item.short_text = text
            else:
                self.item.long_text = text

    def _totals_end(self) -> None:
        declared: dict[str, Decimal] = {}
        for name, raw in (self.totals or {}).items():
            try:
                declared[name] = Decimal(raw)
            except InvalidOperation:
                self.report.error(self.where(), f'"{raw}" is not a number', name)
        self.totals = None
        if self.totals_owner == "BoQCtgy" and self.categories:
            self.categories[-1].declared = declared
        elif self.totals_owner == "BoQInfo":
            self.result.declared = declared

    def _category_end(self) -> None:
        category = self.categories.pop()
        category.row[1] = category.declared.get("Total")
        self._category_changed()

    def _note(self, item: _Item) -> None:
        text = item.short_text or item.long_text
        if text:
            label = f"{item.tag} {self.section}".strip()
            self.notes.append(f"{label}: {text}")

    # Items ----------------------------------------------------------------------------------------
    def _item_end(self, item: _Item) -> None:
        where = self.where(item.line, item.path)
        numbers = item_numbers(item, where, self.report)
        if numbers is None:
            return
        number = self._number(item)
        kind = item_kind(item, where, self.report, self.aln_bases)
        quantity, unit_price, total = numbers["Qty"], numbers["UP"], numbers["IT"]
        unit = " ".join(item.values.get("QU", "").split())
        if kind == MARKUP and item.tag == "MarkupItem":
            quantity, unit = numbers["Markup"], MARKUP_UNIT
            base = numbers["ITMarkup"]
            unit_price = base / 100 if base is not None else None
        elif (
            quantity is None
            and unit_price is None
            and total is None
            and kind in ("", BASE, ALTERNATIVE)
        ):
            # A text item: part of the bill's text, not a position.
            text = item.short_text or item.long_text
            self.notes.append(f"{number}: {text}" if text else number)
            self.report.count("text items (kept as notes)")
            return
        elif kind == LUMP_SUM and quantity is None:
            quantity = Decimal(1)
        if item.tag == "MarkupItem":
            if total is None and quantity is not None and unit_price is not None:
                total = round_money(quantity * unit_price)
        elif quantity is not None and unit_price is not None:
            computed = round_money(quantity * unit_price)
            if total is not None and total != computed:
                self.report.warning(
                    where,
                    f"the item total {total} is not quantity × unit price = {computed}: the unit "
                    "price wins (VOB/A §16c)",
                    "IT",
                )
            total = computed
        if not item.number:
            self.report.warning(where, "the item has no number (RNoPart)", "RNoPart")
        description = item.short_text or item.long_text.split("\n", 1)[0]
        position = ParsedPosition(
            source_line=item.line,
            position_number=number,
            description=" ".join(description.split()),
            unit=unit,
            quantity=quantity,
            unit_price=unit_price,
            total_price=total,
            section=self.section,
            where_text=where,
            kind=kind,
            long_text=item.long_text,
            parts=self.category_parts,
        )
        if self.previous_positions is not None and self.phase.startswith(BID_PHASE):
            self._complete(position, has_short_text=bool(item.short_text))
        self.positions += 1
        self.ready.append(position)

    def _complete(self, position: ParsedPosition, *, has_short_text: bool) -> None:
        """Take what an X84 cannot say (texts, unit, kind, category labels) from the project's
        current position of the same number: the tender this bid answers."""
        if self.previous is None:
            self.previous = self.previous_positions() if self.previous_positions else {}
        tender = self.previous.get(position.position_number)
        if tender is None:
            return
        if not has_short_text:
            position.description = tender["description"] or position.description
        position.long_text = position.long_text or tender["long_text"]
        position.unit = position.unit or tender["unit"]
        position.kind = position.kind or tender["kind"]
        if not any(category.label for category in self.categories):
            position.section = tender["section"]
        self.completed += 1
