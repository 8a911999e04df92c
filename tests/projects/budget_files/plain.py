"""A plain bill whose `Typ` column holds work categories (HSV/PSV/M)."""

from decimal import Decimal

from openpyxl import Workbook

from tests.projects.budget_files.cells import number, save
from tests.projects.budget_files.model import D, money


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
