"""The budget model the files are written from, and its known answers (totals by object, part)."""

import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

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


# (object key, part) → a declared figure that disagrees with the items; part "" the object.
Overrides = dict[tuple[str, str], Decimal]


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
