"""KROS 4 / ÚRS: the "Export Komplet" workbook and the grid layout."""

from collections.abc import Iterator
from decimal import Decimal

from openpyxl import Workbook

from tests.projects.budget_files.cells import number, row, save
from tests.projects.budget_files.model import Budget, D, Item, Object, Overrides, money

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
