"""Which layout reads a table, decided from its header and the first rows below it.

- a `Line key` column: Kalkula's own export (projects.importers.kalkula);
- RTS/BUILDpower `… Pol` sheets (the hidden `#TypZaznamu#` column, `S:`/`O:` rows above the header,
  or the sheet's name) (projects.importers.rts);
- a `Typ`/`TV` column holding KROS row types (D, K, M, VV, PP…) (projects.importers.kros) or ASPE
  row types (S, O, SD, P, PP, VV, TS) (projects.importers.aspe);
- a `Typ` column holding anything else (HSV, PSV, M…) is a work category: a plain table;
- otherwise a plain table (projects.importers.tabular).
"""

from projects.importers import aspe, kalkula, kros, rts
from projects.importers.base import cell_to_text
from projects.importers.tabular import Found, Row, Table


def row_types(found: Found, sample: list[Row]) -> set[str]:
    index = found.header.columns["row_type"]
    return {cell_to_text(cells[index]).upper() for _, cells in sample if index < len(cells)} - {""}


def choose(found: Found, sample: list[Row], sheet_name: str) -> type[Table]:
    columns = found.header.columns
    if kalkula.is_export(found):
        return kalkula.ExportTable
    if rts.is_rts(found, sheet_name):
        return rts.RtsTable
    if "row_type" in columns:
        types = row_types(found, sample)
        if kros.is_kros(types):
            return kros.KrosTable
        if aspe.is_aspe(types):
            return aspe.AspeTable
        # A `Typ` column of work categories (HSV, PSV, M): the category, not a row type.
        index = columns.pop("row_type")
        name = found.header.names.pop("row_type")
        if "category" not in columns:
            columns["category"] = index
            found.header.names["category"] = name
    return Table
