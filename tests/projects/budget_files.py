"""Budget files as the estimators' tools write them (../shared/FORMATS.md), generated with openpyxl
from one budget model whose answers are known: counts, totals per object and part, take-off.

- `kros_komplet`: KROS 4 / ÚRS "Export Komplet": `Rekapitulace stavby` first, one sheet per object
  (a cover with the declared totals and VAT table, the part recapitulation, the bill whose header
  sits at rows 104–136, D/K/M/VV/PP/PSC/P rows, hidden columns far right repeating the row type),
  `Seznam figur` last; optionally `Pokyny pro vyplnění` first, the split price variant, a tender,
  declared totals that disagree with the items;
- `kros_grid`: the grid layout (`Úroveň, TC, ČP, TV, …`);
- `plain_categories`: a plain bill whose `Typ` column holds HSV/PSV/M;
- `rts_workbook`: RTS/BUILDpower "Položkový rozpočet" (`Stavba` cover, `… Pol` sheets with take-off
  and text rows, the hidden `#TypZaznamu#` column on one of them);
- `aspe_workbook`: ASPE (two-row header, S/O/O1/SD/P/PP/VV/TS rows);
- `unixml`: UNIXML 1.1 (or 1.2) with `vykaz_vymer`, `cenova_soustava` and declared sums.

Also used by bench/imports.py (big KROS workbooks, written in openpyxl's write-only mode).
"""

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from openpyxl import Workbook

D = Decimal
CENT = D("0.01")
PRICE_SYSTEM = "CS ÚRS 2025 01"
WORDS = (
    "Hloubení jam nezapažených v hornině třídy těžitelnosti I skupiny 3",
    "Zásyp sypaninou z jakékoliv horniny se zhutněním",
    "Základové pasy z betonu tř. C 25/30",
    "Zdivo nosné z cihel broušených tl. 300 mm",
    "Výztuž stropů z betonářské oceli 10 505",
    "Potěr anhydritový samonivelační tl. do 50 mm",
    "Montáž oken plastových plochy přes 1 m2",
    "Provedení povlakové krytiny střech do 10° pásy NAIP",
    "Vnitřní omítka vápenocementová štuková dvouvrstvá",
    "Lešení řadové trubkové lehké s podlahami šířky do 1,2 m",
)
MATERIALS = (
    "Cihla plná pálená 290x140x65 mm",
    "Písek těžený frakce 0-4 mm",
    "Okno plastové otevíravé 1200x1500 mm",
    "Deska polystyrénová EPS 100 S tl. 100 mm",
)
# Units as the files spell them (kept as written).
UNITS = ("m3", "m2", "m", "kus", "t", "m²", "ks", "kpl")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def czech(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",")


@dataclass
class Item:
    kind: str  # K work, M material
    number: int
    code: str
    description: str
    unit: str
    quantity: Decimal
    unit_price: Decimal | None  # None in a tender
    material: Decimal | None = None
    assembly: Decimal | None = None
    price_system: str = PRICE_SYSTEM
    takeoff: list[tuple[str, Decimal]] = field(default_factory=list)
    long_text: str = ""
    note: str = ""

    @property
    def total(self) -> Decimal | None:
        return None if self.unit_price is None else money(self.quantity * self.unit_price)


@dataclass
class Part:
    code: str
    name: str
    items: list[Item]

    @property
    def total(self) -> Decimal:
        return sum((item.total or D(0) for item in self.items), D(0))


@dataclass
class Group:
    code: str
    name: str
    parts: list[Part]

    @property
    def total(self) -> Decimal:
        return sum((part.total for part in self.parts), D(0))


@dataclass
class Object:
    code: str
    name: str
    groups: list[Group]
    soupis: tuple[str, str] | None = None  # (code, name) of the bill when the object has several
    sheet_name: str = ""

    @property
    def key(self) -> str:
        """The object as Kalkula names it (the code; with the soupis: `SO 4/01`)."""
        return f"{self.code}/{self.soupis[0]}" if self.soupis else self.code

    @property
    def label(self) -> str:
        return f"{self.code} - {self.name}"

    @property
    def items(self) -> list[Item]:
        return [item for group in self.groups for part in group.parts for item in part.items]

    @property
    def total(self) -> Decimal:
        return sum((group.total for group in self.groups), D(0))


@dataclass
class Budget:
    code: str
    name: str
    objects: list[Object]

    @property
    def items(self) -> list[Item]:
        return [item for obj in self.objects for item in obj.items]

    @property
    def total(self) -> Decimal:
        return sum((obj.total for obj in self.objects), D(0))

    @property
    def vat(self) -> Decimal:
        return money(self.total * D("0.21"))

    def part_totals(self) -> dict[tuple[str, str], Decimal]:
        """(object key, part or group code) → declared total, as the file declares them."""
        found = {}
        for obj in self.objects:
            for group in obj.groups:
                found[(obj.key, group.code)] = group.total
                for part in group.parts:
                    found[(obj.key, part.code)] = part.total
        return found


# The budget model --------------------------------------------------------------------------------
GROUPS = (
    ("HSV", "Práce a dodávky HSV", (("1", "Zemní práce"), ("2", "Zakládání"), ("3", "Svislé a kompletní konstrukce"), ("9", "Ostatní konstrukce a práce, bourání"), ("998", "Přesun hmot"))),  # noqa: E501
    ("PSV", "Práce a dodávky PSV", (("711", "Izolace proti vodě, vlhkosti a plynům"), ("721", "Zdravotechnika - vnitřní kanalizace"), ("766", "Konstrukce truhlářské"))),  # noqa: E501
    ("M", "Práce a dodávky M", (("21-M", "Elektromontáže"),)),
)  # fmt: skip
OBJECTS = (
    ("SO 1", "Dům (RD Valcha)", None),
    ("SO 2", "Garáž", None),
    ("SO 3", "Přípojky inženýrských sítí", None),
    ("SO 4", "Dílna", ("01", "Architektonicko stavební řešení")),
    ("VON", "Vedlejší rozpočtové náklady", None),
)


def make_budget(
    *,
    items_per_object: int = 12,
    objects: int = 5,
    seed: int = 7,
    tender: bool = False,
    split_prices: bool = False,
    takeoff: bool = True,
) -> Budget:
    """A budget of `objects` objects (two buildings' worth of sheets), each with about
    `items_per_object` items spread over its parts: 3 of 4 items are K, 1 of 4 M; K items have
    take-off lines (w*h products that add up to their quantity) and some a long text and a note."""
    rng = random.Random(seed)
    built = []
    for index in range(objects):
        code, name, soupis = OBJECTS[index % len(OBJECTS)]
        if index >= len(OBJECTS):
            code = f"{code}.{index // len(OBJECTS)}"
        groups = []
        for group_code, group_name, parts in GROUPS:
            groups.append(Group(group_code, group_name, [Part(c, n, []) for c, n in parts]))
        all_parts = [part for group in groups for part in group.parts]
        for number in range(1, items_per_object + 1):
            part = all_parts[(number - 1) * len(all_parts) // items_per_object]
            kind = "M" if number % 4 == 0 else "K"
            lines = []
            if kind == "K" and takeoff:
                pieces = [
                    (D(rng.randint(100, 2000)) / 100, D(rng.randint(100, 900)) / 100)
                    for _ in range(rng.choice((1, 1, 2)))
                ]
                quantity = sum((w * h for w, h in pieces), D(0))
                lines = [(f"{czech(w)}*{czech(h)}", w * h) for w, h in pieces]
                if len(pieces) > 1:
                    lines.append(("Součet", quantity))
            else:
                quantity = D(rng.randint(1, 50000)) / 100
            material = assembly = None
            unit_price = D(rng.randint(100, 900_000)) / 100
            if split_prices:
                material = money(unit_price * D("0.6"))
                assembly = unit_price - material
            digits = "".join(part.code.split("-")) + f"{rng.randint(0, 999999):06d}"
            words = WORDS if kind == "K" else MATERIALS
            part.items.append(
                Item(
                    kind=kind,
                    number=number,
                    code=digits[:9],
                    description=f"{words[number % len(words)]} — varianta {number}",
                    unit=UNITS[number % len(UNITS)],
                    quantity=quantity,
                    unit_price=None if tender else unit_price,
                    material=None if tender else material,
                    assembly=None if tender else assembly,
                    takeoff=lines,
                    long_text=f"Plný popis položky {number}: {words[number % len(words)]}"
                    if kind == "K" and number % 3 == 0
                    else "",
                    note="Poznámka: dle výkresu D.1.1.03" if number % 10 == 5 else "",
                )
            )
        sheet_name = f"{code} - {name}"[:31]
        if soupis:
            sheet_name = f"{soupis[0]} - {soupis[1]}"[:31]
        built.append(Object(code, name, groups, soupis, sheet_name))
    return Budget("2024-017", "Rodinný dům a garáž Valcha", built)


# Writing helpers ----------------------------------------------------------------------------------
def col(letters: str) -> int:
    """Column letters → 0-based index (`A` 0, `AT` 45)."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def row(**cells: object) -> list:
    """A row with the given cells by column letters (`row(C="Stavba:", F="…")`)."""
    width = max(col(name) for name in cells) + 1 if cells else 0
    values: list = [None] * width
    for name, value in cells.items():
        values[col(name)] = value
    return values


def save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def number(value: Decimal | None) -> float | None:
    """A figure as a spreadsheet stores it (a binary float)."""
    return None if value is None else float(value)


# KROS Export Komplet ------------------------------------------------------------------------------
KROS_HEADER = {
    "B": "PČ",
    "C": "Typ",
    "D": "Kód",
    "E": "Popis",
    "F": "MJ",
    "G": "Množství",
    "H": "J.cena [CZK]",
    "I": "Cena celkem [CZK]",
    "J": "Cenová soustava",
    "K": "DPH",
    "L": "J. Nh [h]",
    "M": "Nh celkem [h]",
    "N": "J. hmotnost [t]",
    "O": "Hmotnost celkem [t]",
    "P": "J. suť [t]",
    "Q": "Suť Celkem [t]",
}
# The split price variant: material and assembly unit prices first, the unit price far right.
KROS_SPLIT_HEADER = {
    "B": "PČ",
    "C": "Typ",
    "D": "Kód",
    "E": "Popis",
    "F": "MJ",
    "G": "Množství",
    "H": "J. materiál [CZK]",
    "I": "J. montáž [CZK]",
    "J": "Cena celkem [CZK]",
    "K": "Cenová soustava",
    "L": "DPH",
    "M": "J. Nh [h]",
    "N": "Nh celkem [h]",
    "R": "J.cena [CZK]",
}
HEADER_ROWS = (104, 119, 122, 136, 128)
# (object key, part) → a declared figure that disagrees with the items; part "" the object.
Overrides = dict[tuple[str, str], Decimal]


def kros_komplet(
    budget: Budget,
    *,
    split_prices: bool = False,
    tender: bool = False,
    instructions: bool = False,
    wrong: Overrides | None = None,
    header_rows: tuple[int, ...] = HEADER_ROWS,
    write_only: bool = False,
    old_sheet_names: bool = False,
) -> bytes:
    """The budget as KROS writes its "Export Komplet". `wrong` makes declared figures disagree
    with the items; `old_sheet_names` names object sheets ` Krycí list soupisu I`, `… II` as
    older exports do (the cover still names the object)."""
    wrong = wrong or {}
    book = Workbook(write_only=write_only)
    if not write_only:
        book.remove(book.active)
    if instructions:
        sheet = book.create_sheet("Pokyny pro vyplnění")
        for line in _rows_of(["Pokyny pro vyplnění", "", "Vyplňte J.cena u každé položky."]):
            sheet.append(line)
    sheet = book.create_sheet("Rekapitulace stavby")
    grand = wrong.get(("", ""), D(0) if tender else budget.total)
    for line in _building_recapitulation(budget, grand, tender):
        sheet.append(line)
    for index, obj in enumerate(budget.objects):
        name = obj.sheet_name
        if old_sheet_names:
            name = f" Krycí list soupisu {'I' * (index + 1)}"[:31]
        sheet = book.create_sheet(name)
        if not write_only:
            sheet.column_dimensions["AT"].hidden = True
        header_at = header_rows[index % len(header_rows)]
        for line in _object_sheet(obj, budget, header_at, split_prices, tender, wrong):
            sheet.append(line)
    sheet = book.create_sheet("Seznam figur")
    for line in _figures(budget):
        sheet.append(line)
    return save(book)


def _rows_of(texts: list[str]) -> list[list]:
    return [row(B=text) if text else [] for text in texts]


def _vat_rows(net: Decimal, vat: Decimal) -> list[list]:
    return [
        row(C="Základ daně", AK="Sazba daně", AR="Výše daně"),
        row(C="DPH", F="základní", Q=0.21, AK=number(net), AR=number(vat)),
        row(F="snížená", Q=0.12, AK=0.0, AR=0.0),
        row(F="zákl. přenesená", Q=0.21, AK=0.0, AR=0.0),
        row(F="sníž. přenesená", Q=0.12, AK=0.0, AR=0.0),
        row(F="nulová", Q=0.0, AK=0.0, AR=0.0),
    ]


def _building_recapitulation(budget: Budget, net: Decimal, tender: bool) -> Iterator[list]:
    vat = D(0) if tender else money(net * D("0.21"))
    yield []
    yield row(C="REKAPITULACE STAVBY")
    yield []
    yield row(C="Kód:", K=budget.code)
    yield row(C="Stavba:", K=budget.name)
    yield []
    yield row(C="Cena bez DPH", AK=number(net))
    yield []
    yield from _vat_rows(net, vat)
    yield []
    yield row(C="Cena s DPH", AK=number(net + vat))
    yield []
    yield row(C="REKAPITULACE OBJEKTŮ STAVBY A SOUPISŮ PRACÍ")
    yield row(C="Kód", F="Popis", AG="Cena bez DPH [CZK]", AN="Cena s DPH [CZK]")
    for obj in budget.objects:
        total = D(0) if tender else obj.total
        yield row(D=obj.code, F=obj.name, AG=number(total), AN=number(money(total * D("1.21"))))


def _object_sheet(
    obj: Budget | Object,
    budget: Budget,
    header_at: int,
    split: bool,
    tender: bool,
    wrong: Overrides,
) -> Iterator[list]:
    key = obj.key
    net = wrong.get((key, ""), D(0) if tender else obj.total)
    vat = D(0) if tender else money(net * D("0.21"))
    lines: list[list] = [
        [],
        [],
        row(C="KRYCÍ LIST SOUPISU PRACÍ"),
        [],
        row(C="Stavba:", F=budget.name),
        [],
        row(C="Objekt:", F=obj.label),
    ]
    if obj.soupis:
        lines += [[], row(C="Soupis:", F=f"{obj.soupis[0]} - {obj.soupis[1]}")]
    lines += [
        [],
        row(C="KSO:", K="801 11 41", AI="CC-CZ:", AM="1110"),
        row(C="Místo:", K="Valašské Meziříčí", AI="Datum:", AM="12. 3. 2025"),
        [],
        row(C="Zadavatel:", AI="IČ:", AM="12345678"),
        row(E="Rodina Valchova", AI="DIČ:"),
        row(C="Uchazeč:", AI="IČ:", AM="Vyplň údaj"),
        row(C="Projektant:", AI="IČ:", AM="87654321"),
        row(C="Zpracovatel:", AI="IČ:"),
        row(C="Poznámka:"),
        [],
        row(C="Cena bez DPH", AK=number(net)),
        [],
        *_vat_rows(net, vat),
        [],
        row(C="Cena s DPH", AI="v", AK=number(net + vat)),
    ]
    while len(lines) < 70:
        lines.append([])
    lines += [
        row(C="REKAPITULACE ČLENĚNÍ SOUPISU PRACÍ"),
        [],
        row(C="Stavba:", F=budget.name),
        row(C="Objekt:", F=obj.label),
        [],
        row(C="Místo:", F="Valašské Meziříčí", I="Datum:", J="12. 3. 2025"),
        [],
        row(C="Kód dílu - Popis", J="Cena celkem [CZK]"),
        [],
        row(C="Náklady ze soupisu prací", J=number(wrong.get((key, ""), obj.total) * (not tender))),
    ]
    for group in obj.groups:
        total = D(0) if tender else group.total
        lines.append(row(D=f"{group.code} - {group.name}", J=number(total)))
        for part in group.parts:
            total = D(0) if tender else wrong.get((key, part.code), part.total)
            lines.append(row(E=f"{part.code} - {part.name}", J=number(total)))
    lines += [[], row(C="SOUPIS PRACÍ"), [], row(C="Stavba:", F=budget.name), []]
    lines.append(row(C="Objekt:", F=obj.label))
    if len(lines) >= header_at - 1:
        raise ValueError(f"the cover needs {len(lines)} rows: the header cannot be at {header_at}")
    while len(lines) < header_at - 1:
        lines.append([])
    header = KROS_SPLIT_HEADER if split else KROS_HEADER
    yield from lines
    yield row(**header)
    total_at = "J" if split else "I"
    yield row(E="Náklady soupisu celkem", **{total_at: number(net if not tender else D(0))})
    for group in obj.groups:
        yield _kros_row(
            "D", total_at, D=group.code, E=group.name, value=D(0) if tender else group.total
        )
        for part in group.parts:
            value = D(0) if tender else wrong.get((key, part.code), part.total)
            yield _kros_row("D", total_at, D=part.code, E=part.name, value=value)
            for item in part.items:
                yield from _kros_item(item, split)


def _kros_row(kind: str, total_at: str, *, value: Decimal | None = None, **cells) -> list:
    values = dict(cells, C=kind, AT=kind, AU="ROZPOCET", AV=1)
    if value is not None:
        values[total_at] = number(value)
    return row(**values)


def _kros_item(item: Item, split: bool) -> Iterator[list]:
    cells = {
        "B": item.number,
        "C": item.kind,
        "D": item.code,
        "E": item.description,
        "F": item.unit,
        "G": number(item.quantity),
    }
    if split:
        cells.update(
            H=number(item.material),
            I=number(item.assembly),
            J=number(item.total) if item.total is not None else 0.0,
            K=item.price_system,
            L="21",
            R=number(item.unit_price),
        )
    else:
        cells.update(
            H=number(item.unit_price),
            I=number(item.total) if item.total is not None else 0.0,
            J=item.price_system,
            K="21",
            L=0.35,
        )
    cells.update(AT=item.kind, AU="ROZPOCET", AV=1)
    yield row(**cells)
    if item.kind == "K":
        url = f"https://podminky.urs.cz/item/CS_URS_2025_01/{item.code}"
        yield row(C="PSC", E=f"Online PSC: {url}", AT="PSC")
    if item.long_text:
        yield row(C="PP", E=item.long_text, AT="PP")
    if item.note:
        yield row(C="P", E=item.note, AT="P")
    for expression, value in item.takeoff:
        yield row(C="VV", E=expression, G=number(value), AT="VV")


def _figures(budget: Budget) -> Iterator[list]:
    yield []
    yield row(C="SEZNAM FIGUR")
    yield []
    yield row(C="Stavba:", F=budget.name)
    for _ in range(4):
        yield []
    yield row(C="Kód", D="Popis", H="MJ", I="Výměra")
    for index in range(1, 9):
        yield row(C=f"fig{index}", D=f"Plocha místnosti {index}", H="m2", I=12.5 * index)


# The KROS grid layout -----------------------------------------------------------------------------
def kros_grid(budget: Budget) -> bytes:
    """One sheet, header `Úroveň, TC, ČP, TV, Kód, Popis, MJ, Množství, J. cena, Cena celkem`;
    D rows carry a code and a total but no quantity (reading them as items triples the total)."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Rozpočet"
    sheet.append(["Rozpočet stavby", None, None, None, None, budget.name])
    sheet.append(["Objekt:", None, None, None, None, budget.objects[0].label])
    sheet.append([])
    sheet.append(
        ["Úroveň", "TC", "ČP", "TV", "Kód", "Popis", "MJ", "Množství", "J. cena", "Cena celkem",
         "Cenová soustava"]
    )  # fmt: skip
    for obj in budget.objects[:1]:
        for group in obj.groups:
            sheet.append([1, None, None, "D", group.code, group.name, None, None, None,
                          number(group.total)])  # fmt: skip
            for part in group.parts:
                sheet.append([2, None, None, "D", part.code, part.name, None, None, None,
                              number(part.total)])  # fmt: skip
                for item in part.items:
                    sheet.append(
                        [3, "ÚRS", item.number, item.kind, item.code, item.description, item.unit,
                         number(item.quantity), number(item.unit_price), number(item.total),
                         item.price_system]
                    )  # fmt: skip
    return save(book)


# A plain bill whose Typ column holds work categories ---------------------------------------------
def plain_categories(count: int = 52) -> tuple[bytes, Decimal]:
    """A plain sheet `Č., Typ, Kód, Popis, MJ, Množství, J. cena, Celkem`, `Typ` = HSV/PSV/M."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Rozpočet"
    sheet.append(["Položkový rozpočet"])
    sheet.append([])
    sheet.append(["Č.", "Typ", "Kód", "Popis", "MJ", "Množství", "J. cena", "Celkem"])
    total = D(0)
    for index in range(1, count + 1):
        category = ("HSV", "HSV", "PSV", "M")[index % 4]
        quantity, price = D(index), D(index * 10 + 5) / 10
        line_total = money(quantity * price)
        total += line_total
        sheet.append(
            [index, category, f"{100000000 + index}", f"Položka {index}", "m2", number(quantity),
             number(price), number(line_total)]
        )  # fmt: skip
    return save(book), total


# RTS / BUILDpower ---------------------------------------------------------------------------------
RTS_HEADER = [
    "P.č.", "Číslo položky", "Název položky", "MJ", "Množství", "Cena / MJ", "Celkem",
    "Dodávka", "Montáž", "Hmotnost / MJ", "Hmotnost celkem",
]  # fmt: skip
RTS_RECORD_AT = col("AZ")


def rts_workbook(budget: Budget, *, hidden_column_on_first: bool = True) -> bytes:
    """`Pokyny pro vyplnění`, `Stavba` (cover with `Celkem za stavbu`), `VzorPolozky`, one `… Pol`
    sheet per object (the first with the hidden `#TypZaznamu#` column), `SO03 01 Naklady`."""
    book = Workbook()
    book.remove(book.active)
    sheet = book.create_sheet("Pokyny pro vyplnění")
    sheet.append(["Pokyny pro vyplnění položkového rozpočtu"])
    sheet = book.create_sheet("Stavba")
    sheet.append(["Stavba:", budget.code, budget.name])
    sheet.append([])
    sheet.append(["Rozpis ceny", None, None, "Celkem"])
    for name, share in (("HSV", D("0.7")), ("PSV", D("0.2")), ("M", D("0.1"))):
        sheet.append([name, None, None, number(money(budget.total * share))])
    sheet.append([])
    sheet.append(["Rekapitulace dílčích částí"])
    sheet.append(["Číslo", "Název", None, "Celkem"])
    for obj in budget.objects:
        sheet.append([obj.code, obj.name, None, number(obj.total)])
    sheet.append([])
    sheet.append(["Celkem za stavbu", None, None, number(budget.total)])
    sheet = book.create_sheet("VzorPolozky")
    sheet.append(RTS_HEADER)
    sheet.append([1, "000000000", "Vzorová položka", "m", 1, 0, 0])
    for index, obj in enumerate(budget.objects):
        sheet = book.create_sheet(f"{obj.code.replace(' ', '')} 01 Pol"[:31])
        hidden = hidden_column_on_first and index == 0
        for line in _rts_sheet(budget, obj, hidden):
            sheet.append(line)
    sheet = book.create_sheet("SO03 01 Naklady")
    sheet.append(["Vedlejší rozpočtové náklady"])
    sheet.append(["Název VRN", None, "Sazba %", "Celkem"])
    sheet.append(["Zařízení staveniště", None, 0, 0])
    return save(book)


def _rts_sheet(budget: Budget, obj: Object, hidden: bool) -> Iterator[list]:
    def line(cells: list, record: str = "") -> list:
        if hidden and record:
            cells = cells + [None] * (RTS_RECORD_AT - len(cells)) + [record]
        return cells

    yield ["Položkový rozpočet stavby"]
    yield ["S:", budget.code, budget.name]
    yield ["O:", obj.code, obj.name]
    yield ["R:", "01", "Rozpočet"]
    yield []
    yield line(list(RTS_HEADER), "#TypZaznamu#")
    for group in obj.groups:
        for part in group.parts:
            yield line(["Díl:", part.code, part.name], "DIL")
            for item in part.items:
                yield line(
                    [item.number, f"{item.code}R00", item.description, item.unit,
                     number(item.quantity), number(item.unit_price), number(item.total)],
                    "POL1_0",
                )  # fmt: skip
                for expression, value in item.takeoff:
                    yield line([None, None, f"výměra : {expression}", None, number(value)], "VV")
                if item.long_text:
                    yield line([None, None, item.long_text], "POP")
            yield line(
                [None, None, f"Celkem za díl {part.code} {part.name}", None, None, None,
                 number(part.total)],
                "CELK",
            )  # fmt: skip


# ASPE ---------------------------------------------------------------------------------------------
def aspe_workbook(budget: Budget) -> bytes:
    """One sheet per object; a two-row header (`Dodávka` over `Jednotková`, `Celkem`); rows S,
    O, O1, SD, P, PP, VV (`…=value [A]`, `Celkem: …=value [F]`), TS."""
    book = Workbook()
    book.remove(book.active)
    for obj in budget.objects:
        sheet = book.create_sheet(f"{obj.code}-61-01"[:31])
        sheet.append(["Firma: Správa železnic, státní organizace"])
        sheet.append(["Stavba:", budget.code, budget.name])
        sheet.append(["Objekt:", obj.code, obj.name])
        sheet.append([])
        sheet.append(["Typ", "Poř. číslo", "Kód položky", "Varianta", "Název položky", "MJ",
                      "Množství", "Dodávka"])  # fmt: skip
        sheet.append([None, None, None, None, None, None, None, "Jednotková", "Celkem"])
        sheet.append(["S", None, budget.code, None, budget.name, None, None, None,
                      number(budget.total)])  # fmt: skip
        sheet.append(["O", None, obj.code, None, obj.name, None, None, None, number(obj.total)])
        for group in obj.groups:
            sheet.append(["O1", None, group.code, None, group.name, None, None, None,
                          number(group.total)])  # fmt: skip
            for part in group.parts:
                sheet.append(["SD", None, part.code, None, part.name, None, None, None,
                              number(part.total)])  # fmt: skip
                for item in part.items:
                    sheet.append(
                        ["P", item.number, item.code, 1, item.description, item.unit,
                         number(item.quantity), number(item.unit_price), number(item.total)]
                    )  # fmt: skip
                    if item.long_text:
                        sheet.append(["PP", None, None, None, item.long_text])
                    for expression, value in item.takeoff:
                        shown = f"{value:,.3f}".replace(",", " ")
                        sheet.append(["VV", None, None, None, f"{expression}={shown} [A]"])
                    if item.takeoff:
                        shown = f"{item.quantity:,.3f}".replace(",", " ")
                        sheet.append(["VV", None, None, None, f"Celkem: ={shown} [F]"])
                    sheet.append(["TS", None, None, None, "Technická specifikace dle TKP"])
    return save(book)


# UNIXML -------------------------------------------------------------------------------------------
def unixml(budget: Budget, *, version: str = "1.1", wrong: Overrides | None = None) -> bytes:
    """The budget as UNIXML: items with typ_vety, typ_polozky, cenova_soustava and vykaz_vymer;
    resources per object; `cena_celkem` declared per part, object and building."""
    wrong = wrong or {}
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<unixml format="unixml_cz" verze="{version}">',
        "<typ_souboru>SOUPIS_PRACI</typ_souboru><zdroj>KROS</zdroj>",
        f"<stavba><kod_stavby>{budget.code}</kod_stavby>"
        f"<nazev_stavby>{escape(budget.name)}</nazev_stavby>",
        f"<cena_celkem>{czech(wrong.get(('', ''), budget.total))}</cena_celkem><objekty>",
    ]
    for obj in budget.objects:
        out.append(
            f"<objekt><kod_objektu>{obj.key}</kod_objektu>"
            f"<nazev_objektu>{escape(obj.name)}</nazev_objektu>"
            f"<cena_celkem>{czech(wrong.get((obj.key, ''), obj.total))}</cena_celkem><dily>"
        )
        resources = {}
        for group in obj.groups:
            out.append(f"<dil><kod_dilu>{group.code}</kod_dilu>")
            out.append(f"<cena_celkem>{czech(group.total)}</cena_celkem><dily>")
            for part in group.parts:
                declared = wrong.get((obj.key, part.code), part.total)
                out.append(f"<dil><kod_dilu>{part.code}</kod_dilu>")
                out.append(f"<cena_celkem>{czech(declared)}</cena_celkem><polozky>")
                for item in part.items:
                    resources[(item.kind, item.code)] = item
                    price = "0,00" if item.unit_price is None else czech(item.unit_price)
                    out.append(
                        f"<polozka><typ_vety>{item.kind}</typ_vety>"
                        f"<typ_polozky>{group.code}</typ_polozky>"
                        f"<kod_polozky>{item.code}</kod_polozky>"
                        f"<cislo_polozky>{item.number}</cislo_polozky>"
                        f"<mnozstvi>{czech(item.quantity)}</mnozstvi>"
                        f"<jednotkova_cena>{price}</jednotkova_cena>"
                        f"<cenova_soustava>{item.price_system}</cenova_soustava>"
                    )
                    if item.takeoff:
                        out.append("<vykaz_vymer>")
                        for expression, value in item.takeoff:
                            out.append(
                                f"<radek_vv><popis_vv>{escape(expression)}</popis_vv>"
                                f"<mnozstvi_vv>{czech(value)}</mnozstvi_vv>"
                                "<typ_vv>VYPOCET</typ_vv></radek_vv>"
                            )
                        out.append("</vykaz_vymer><typ_mnozstvi>VYPOCTENE</typ_mnozstvi>")
                    out.append("</polozka>")
                out.append("</polozky></dil>")
            out.append("</dily></dil>")
        out.append("</dily><zdroje><zdroje_dily>")
        for group in obj.groups:
            for part in [group, *group.parts]:
                out.append(
                    f"<zdroj_dil><kod_dilu>{part.code}</kod_dilu>"
                    f"<nazev_dilu>{escape(part.name)}</nazev_dilu></zdroj_dil>"
                )
        out.append("</zdroje_dily><zdroje_konstrukce>")
        for (kind, _code), item in resources.items():
            if kind == "K":
                out.append(_resource("zdroj_konstrukce", item))
        out.append("</zdroje_konstrukce><zdroje_materialy>")
        for (kind, _code), item in resources.items():
            if kind == "M":
                out.append(_resource("zdroj_material", item))
        out.append("</zdroje_materialy></zdroje></objekt>")
    out.append("</objekty></stavba></unixml>")
    return "\n".join(out).encode()


def _resource(tag: str, item: Item) -> str:
    return (
        f"<{tag}><kod_polozky>{item.code}</kod_polozky>"
        f"<zkraceny_popis_polozky>{escape(item.description)}</zkraceny_popis_polozky>"
        f"<plny_popis_polozky></plny_popis_polozky>"
        f"<merna_jednotka>{escape(item.unit)}</merna_jednotka>"
        f"<cenova_soustava>{item.price_system}</cenova_soustava></{tag}>"
    )
