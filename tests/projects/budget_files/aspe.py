"""ASPE: one sheet per object under a two-row header."""

from openpyxl import Workbook

from tests.projects.budget_files.cells import number, save
from tests.projects.budget_files.model import Budget


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
