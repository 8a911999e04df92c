"""Budget files as the estimators' tools write them (docs/features/budgets.md), made with openpyxl
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

One module per layout family; the model and its known answers in `model`, writing helpers in
`cells`. Also used by bench/kros.py (big KROS workbooks, written in openpyxl's write-only mode).
"""

from tests.projects.budget_files.aspe import aspe_workbook
from tests.projects.budget_files.cells import col, number, row, save
from tests.projects.budget_files.kros import kros_grid, kros_komplet
from tests.projects.budget_files.model import (
    GROUPS,
    OBJECTS,
    Budget,
    Group,
    Item,
    Object,
    Overrides,
    Part,
    czech,
    make_budget,
    money,
)
from tests.projects.budget_files.plain import plain_categories
from tests.projects.budget_files.rts import rts_workbook
from tests.projects.budget_files.unixml import unixml

__all__ = [
    "GROUPS",
    "OBJECTS",
    "Budget",
    "Group",
    "Item",
    "Object",
    "Overrides",
    "Part",
    "aspe_workbook",
    "col",
    "czech",
    "kros_grid",
    "kros_komplet",
    "make_budget",
    "money",
    "number",
    "plain_categories",
    "row",
    "rts_workbook",
    "save",
    "unixml",
]
