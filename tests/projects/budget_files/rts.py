"""RTS / BUILDpower: the "Položkový rozpočet" workbook."""

from collections.abc import Iterator

from openpyxl import Workbook

from tests.projects.budget_files.cells import col, number, save
from tests.projects.budget_files.model import Budget, D, Object, money

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
