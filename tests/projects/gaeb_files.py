"""GAEB DA XML files built for the tests: categories and items (of every kind) in, bytes out.

Elements are written in the order of the official 3.3 schemas, so a file built from what a phase
allows (an X84: quantities, prices and totals only) is valid against that phase's XSD.
"""

from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

NOT_COUNTED = {"alternative", "contingency_without_total"}


@dataclass
class Item:
    number: str
    short: str = ""
    long: str = ""
    qty: str | None = None
    unit: str = ""
    up: str | None = None
    it: str | None = None  # "auto": quantity × unit price
    index: str = ""
    provis: str = ""  # WithTotal / WithoutTotal
    aln: tuple[int, int] | None = None  # (group, serial)
    lump_sum: bool = False
    hourly: bool = False
    qty_tbd: bool = False
    sub_qty: str | None = None  # a SubDescr with its own quantity (not a position)

    @property
    def kind(self) -> str:
        if self.aln is not None:
            return "base" if self.aln[1] == 0 else "alternative"
        if self.provis:
            return "contingency" if self.provis == "WithTotal" else "contingency_without_total"
        if self.lump_sum:
            return "lump_sum"
        if self.hourly:
            return "hourly"
        if self.qty_tbd:
            return "qty_tbd"
        return ""

    def total(self) -> Decimal | None:
        if self.it not in (None, "auto"):
            return Decimal(self.it)
        if self.qty is not None and self.up is not None:
            return (Decimal(self.qty) * Decimal(self.up)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return None


@dataclass
class Markup:
    number: str
    short: str = ""
    percent: str | None = None
    base: str | None = None  # ITMarkup: the amount the markup applies to
    it: str | None = None

    kind = "markup"

    def total(self) -> Decimal | None:
        return Decimal(self.it) if self.it is not None else None


@dataclass
class Text:
    """A text item: an Item with a description and nothing else."""

    number: str
    short: str

    kind = "text"

    def total(self) -> None:
        return None


@dataclass
class Category:
    number: str
    label: str = ""
    children: list = field(default_factory=list)
    total: str | None = None  # "auto": what its items add up to

    def computed(self) -> Decimal:
        return sum(
            (
                child.computed()
                if isinstance(child, Category)
                else (child.total() or Decimal(0))
                if child.kind not in NOT_COUNTED
                else Decimal(0)
                for child in self.children
            ),
            Decimal(0),
        )


def _p(text: str) -> str:
    return "".join(f"<p><span>{escape(line)}</span></p>" for line in text.split("\n"))


class _Writer:
    def __init__(self, phase: str, with_texts: bool) -> None:
        self.phase = phase
        self.with_texts = with_texts
        self.ids = 0

    def id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}{self.ids}"

    def description(self, short: str, long: str) -> str:
        if not short and not long:
            return ""
        detail = f"<DetailTxt><Text>{_p(long)}</Text></DetailTxt>" if long else "<DetailTxt/>"
        outline = (
            f"<OutlineText><OutlTxt><TextOutlTxt>{_p(short)}</TextOutlTxt></OutlTxt></OutlineText>"
            if short and self.with_texts
            else ""
        )
        return f"<Description><CompleteText>{detail}{outline}</CompleteText></Description>"

    def item(self, item: Item) -> str:
        parts = []
        if not self.with_texts:  # an X84: quantities, prices and totals only
            item = replace(
                item, unit="", aln=None, provis="", lump_sum=False, hourly=False, qty_tbd=False
            )
        if item.aln is not None:
            parts.append(
                f"<ALNGroupNo>{item.aln[0]}</ALNGroupNo><ALNSerNo>{item.aln[1]}</ALNSerNo>"
            )
        if item.provis:
            parts.append(f"<Provis>{item.provis}</Provis>")
        if item.lump_sum:
            parts.append("<LumpSumItem>Yes</LumpSumItem>")
        if item.hourly:
            parts.append("<HourIt>Yes</HourIt>")
        if item.qty_tbd:
            parts.append("<QtyTBD>Yes</QtyTBD>")
        if item.qty is not None:
            parts.append(f"<Qty>{item.qty}</Qty>")
        if item.unit:
            parts.append(f"<QU>{escape(item.unit)}</QU>")
        if item.up is not None:
            parts.append(f"<UP>{item.up}</UP>")
        total = item.total() if item.it == "auto" else item.it
        if total is not None:
            parts.append(f"<IT>{total}</IT>")
        parts.append(self.description(item.short, item.long))
        if item.sub_qty is not None:
            sub = self.description("Teilmenge", "")
            parts.append(
                f"<SumDescr>Yes</SumDescr><SubDescr><SubDNo>1</SubDNo>{sub}"
                f"<Qty>{item.sub_qty}</Qty><QU>{escape(item.unit or 'm')}</QU></SubDescr>"
            )
        index = f' RNoIndex="{item.index}"' if item.index else ""
        return f'<Item ID="{self.id("I")}" RNoPart="{item.number}"{index}>{"".join(parts)}</Item>'

    def markup(self, markup: Markup) -> str:
        parts = ["<MarkupType>AllInCat</MarkupType>"] if self.with_texts else []
        if markup.base is not None:
            parts.append(f"<ITMarkup>{markup.base}</ITMarkup>")
        if markup.percent is not None:
            parts.append(f"<Markup>{markup.percent}</Markup>")
        if markup.it is not None:
            parts.append(f"<IT>{markup.it}</IT>")
        parts.append(self.description(markup.short, ""))
        opening = f'<MarkupItem ID="{self.id("M")}" RNoPart="{markup.number}">'
        return f"{opening}{''.join(parts)}</MarkupItem>"

    def text(self, text: Text) -> str:
        opening = f'<Item ID="{self.id("T")}" RNoPart="{text.number}">'
        return f"{opening}{self.description(text.short, '')}</Item>"

    def body(self, children: list) -> str:
        parts, items = [], []
        for child in children:
            if isinstance(child, Category):
                if items:
                    parts.append(f"<Itemlist>{''.join(items)}</Itemlist>")
                    items = []
                parts.append(self.category(child))
            elif isinstance(child, Markup):
                items.append(self.markup(child))
            elif isinstance(child, Text):
                items.append(self.text(child))
            else:
                items.append(self.item(child))
        if items:
            parts.append(f"<Itemlist>{''.join(items)}</Itemlist>")
        return f"<BoQBody>{''.join(parts)}</BoQBody>"

    def category(self, category: Category) -> str:
        label = f"<LblTx>{_p(category.label)}</LblTx>" if category.label and self.with_texts else ""
        total = category.computed() if category.total == "auto" else category.total
        totals = f"<Totals><Total>{total}</Total></Totals>" if total is not None else ""
        return (
            f'<BoQCtgy ID="{self.id("C")}" RNoPart="{category.number}">{label}'
            f"{self.body(category.children)}{totals}</BoQCtgy>"
        )


def namespace_for(phase: str, version: str) -> str:
    if version.startswith(("3.2", "3.3")):
        return f"http://www.gaeb.de/GAEB_DA_XML/DA{phase}/{version}"
    return "http://www.gaeb.de/GAEB_DA_XML/200407"


def bill(
    children: list,
    *,
    phase: str = "86",
    version: str = "3.3",
    namespace: str | None = None,
    levels: tuple[int, ...] = (2, 2),
    item_length: int = 4,
    index: bool = False,
    name: str = "LV Test",
    totals: dict[str, str] | str | None = None,
    dp: str | None = None,
    with_texts: bool | None = None,
) -> bytes:
    """A GAEB file of `children` (Categories, Items, Markups, Texts; a flat bill when they are
    items), phase `phase` (written in the namespace and `Award/DP` unless `dp` says otherwise),
    BoQ totals `totals` ("auto": what the items add up to). An X84 gets no short texts, units,
    kinds or labels (its schema has none) unless `with_texts` says so."""
    if with_texts is None:
        with_texts = phase != "84"
    writer = _Writer(phase, with_texts)
    namespace = namespace if namespace is not None else namespace_for(phase, version)
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    bkdn = (
        "".join(
            f"<BoQBkdn><Type>BoQLevel</Type><Length>{length}</Length><Num>Yes</Num></BoQBkdn>"
            for length in levels
        )
        + f"<BoQBkdn><Type>Item</Type><Length>{item_length}</Length><Num>Yes</Num></BoQBkdn>"
    )
    if index:
        bkdn += "<BoQBkdn><Type>Index</Type><Length>1</Length><Num>No</Num></BoQBkdn>"
    if totals == "auto":
        totals = {"Total": str(Category("", children=children).computed())}
    totals_xml = (
        "<Totals>"
        + "".join(f"<{key}>{value}</{key}>" for key, value in totals.items())
        + "</Totals>"
        if totals
        else ""
    )
    body = writer.body(children)
    label = f"<LblBoQ>{escape(name)}</LblBoQ><OutlCompl>AllTxt</OutlCompl>" if phase != "84" else ""
    address = "<Street>Baustrasse 1</Street><PCode>12345</PCode><City>Musterstadt</City>"
    ctr = f"<CTR><Address><Name1>Musterbau GmbH</Name1>{address}</Address></CTR>"
    own = f"<OWN><Address><Name1>Stadt Musterstadt</Name1>{address}</Address></OWN>"
    parties = {"84": ctr, "86": own + ctr}.get(phase, "")
    dp_xml = f"<DP>{dp if dp is not None else phase}</DP>" if dp != "" else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<GAEB{xmlns}>\n'
        f"<GAEBInfo><Version>{version}</Version><VersDate>2021-05</VersDate>"
        f"<Date>2026-01-15</Date></GAEBInfo>\n"
        f"<PrjInfo><NamePrj>Testprojekt</NamePrj></PrjInfo>\n"
        f"<Award>{dp_xml}<AwardInfo><Cur>EUR</Cur></AwardInfo>{parties}\n"
        f'<BoQ ID="B1"><BoQInfo><Name>{escape(name)}</Name>{label}{bkdn}{totals_xml}</BoQInfo>\n'
        # One element a line from here on, so messages name distinct lines.
        + body.replace("><", ">\n<")
        + "\n</BoQ></Award></GAEB>\n"
    ).encode()


def every_kind() -> list:
    """Two lots of titles holding every item kind, declared totals per category that match."""
    return [
        Category(
            "01",
            "Rohbau",
            [
                Category(
                    "01",
                    "Erdarbeiten",
                    [
                        Item(
                            "0010",
                            "Oberboden abtragen",
                            "Oberboden 20 cm\nseitlich lagern",
                            qty="120.000",
                            unit="m2",
                            up="4.50",
                            it="auto",
                            sub_qty="60.000",
                        ),
                        Item(
                            "0020",
                            "Baustelle einrichten",
                            qty="1.000",
                            unit="psch",
                            up="2500.00",
                            it="auto",
                            lump_sum=True,
                        ),
                        Text("0025", "Hinweis: Aushub nach Bodengutachten"),
                        Item(
                            "0030",
                            "Bodenaustausch",
                            qty="10.000",
                            unit="m3",
                            up="30.00",
                            it="auto",
                            provis="WithTotal",
                        ),
                        Item(
                            "0040",
                            "Wasserhaltung",
                            qty="5.000",
                            unit="d",
                            up="100.00",
                            it="auto",
                            provis="WithoutTotal",
                        ),
                    ],
                    total="auto",
                ),
                Category(
                    "02",
                    "Beton",
                    [
                        Item(
                            "0010",
                            "Bodenplatte C25/30",
                            qty="20.000",
                            unit="m3",
                            up="150.00",
                            it="auto",
                            aln=(1, 0),
                        ),
                        Item(
                            "0010",
                            "Bodenplatte C30/37",
                            qty="20.000",
                            unit="m3",
                            up="165.00",
                            it="auto",
                            aln=(1, 1),
                            index="A",
                        ),
                        Item(
                            "0020",
                            "Regiestunden Polier",
                            qty="8.000",
                            unit="h",
                            up="55.00",
                            it="auto",
                            hourly=True,
                        ),
                        Item("0030", "Sauberkeitsschicht", qty_tbd=True, unit="m2", up="12.00"),
                        Markup(
                            "0090",
                            "Zuschlag Beton",
                            percent="5.000000",
                            base="3440.00",
                            it="172.00",
                        ),
                    ],
                    total="auto",
                ),
            ],
            total="auto",
        ),
        Category(
            "02",
            "Ausbau",
            [
                Category(
                    "01",
                    "Maler",
                    [Item("0010", "Wandanstrich", qty="300.000", unit="m2", up="8.20", it="auto")],
                    total="auto",
                )
            ],
            total="auto",
        ),
    ]


def bvbs_bid() -> bytes:
    """A faithful stand-in for the BVBS official test bid (DA XML 3.3, X84): 27 items in 3 lots
    of 3 titles and one MarkupItem of 85 000.00 in the last title; the items' totals add up to
    1 915 000.00, the declared BoQ total (with the markup) is 2 000 000.00. Only what an X84 may
    carry: quantities, unit prices, totals (valid against the official X84 schema)."""
    amounts = [Decimal(58_000 + 1_000 * n) for n in range(27)]  # 58 000 … 84 000
    amounts[-1] += Decimal(1_915_000) - sum(amounts)  # 82 000
    lots, number = [], 0
    for lot in range(1, 4):
        titles = []
        for title in range(1, 4):
            items = []
            for position in range(1, 4):
                amount = amounts[number]
                quantity = Decimal(10 * 2 ** (position - 1))  # 10, 20, 40: exact prices
                items.append(
                    Item(
                        f"{position * 10:04d}",
                        qty=f"{quantity:.3f}",
                        up=f"{amount / quantity:.2f}",
                        it=f"{amount:.2f}",
                    )
                )
                number += 1
            if (lot, title) == (3, 3):
                items.append(Markup("9000", percent="4.438642", base="1915000.00", it="85000.00"))
            titles.append(Category(f"{title:02d}", children=items, total="auto"))
        lots.append(Category(f"{lot:02d}", children=titles, total="auto"))
    return bill(lots, phase="84", name="BVBS Testangebot", totals={"Total": "2000000.00"})


def tender(children: list) -> list:
    """The same bill without prices (what an X83 carries)."""
    unpriced = []
    for child in children:
        if isinstance(child, Category):
            unpriced.append(replace(child, children=tender(child.children), total=None))
        elif isinstance(child, Item):
            unpriced.append(replace(child, up=None, it=None))
        elif isinstance(child, Markup):
            unpriced.append(replace(child, percent=None, base=None, it=None))
        else:
            unpriced.append(child)
    return unpriced
