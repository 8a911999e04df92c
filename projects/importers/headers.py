"""Column headers in English, Czech and German, mapped to position fields.

Headers are compared normalised: without diacritics, case, punctuation, spaces, a bracketed or
trailing currency (`J.cena [CZK]` → `jcena`), so one synonym covers its spellings.
"""

import re
import unicodedata
from dataclasses import dataclass, field

SYNONYMS: dict[str, tuple[str, ...]] = {
    "position_number": (
        "Item", "Item no", "No", "No.", "Number", "#", "Pos", "Position", "Position no", "Line",
        "Č.", "PČ", "ČP", "P.č.", "Poř. č.", "Poř. číslo", "Pořadové číslo", "Číslo položky",
        "Č. pol.", "Pos.-Nr.", "Positionsnummer", "OZ", "Ordnungszahl", "Nr.", "Lfd. Nr.",
    ),
    # The row type (KROS D/K/M/VV/PP…, ASPE S/O/SD/P/PP/VV/TS); a column so named that holds work
    # categories (HSV, PSV) is read as the category instead (projects.importers.layouts).
    "row_type": ("Typ", "TV", "Typ věty", "Typ řádku", "Row type", "Zeilentyp", "Satzart"),
    # RTS/BUILDpower's hidden column marking take-off (VV) and text (POP) rows.
    "record_type": ("#TypZaznamu#",),
    "level": ("Úroveň", "Level", "Ebene"),
    "code": (
        "Code", "Item code", "Catalog code", "Ref", "Reference", "Kód", "Kód položky",
        "Art.-Nr.", "Artikelnummer", "Leistungsnummer", "Kennziffer", "Schlüssel",
    ),
    "description": (
        "Description", "Item description", "Name", "Text", "Popis", "Popis položky", "Název",
        "Název položky", "Text položky", "Beschreibung", "Bezeichnung", "Kurztext",
        "Leistungsbeschreibung", "Positionstext",
    ),
    "unit": (
        "Unit", "Units", "UoM", "Unit of measure", "MJ", "Měrná jednotka", "Jednotka",
        "Jedn.", "Einheit", "ME", "Mengeneinheit", "EH",
    ),
    "quantity": ("Quantity", "Qty", "Množství", "Výměra", "Počet", "Menge", "Anzahl"),
    "unit_price": (
        "Unit price", "Unit rate", "Rate", "Price", "Price per unit", "Jedn. cena",
        "Jednotková cena", "J.cena", "Cena/MJ", "Cena za MJ", "Cena jednotková",
        "Einheitspreis", "EP", "Preis", "Preis je Einheit", "E-Preis", "Jednotková",
    ),
    "material_unit_price": (
        "J. materiál", "Jednotková cena materiál", "Material unit price", "Materialpreis",
    ),
    "assembly_unit_price": (
        "J. montáž", "Jednotková cena montáž", "Assembly unit price", "Lohnpreis",
    ),
    "price_system": ("Cenová soustava", "Price system", "Cenová soustava a edice"),
    "long_text": ("Long text", "Plný popis", "Langtext"),
    "takeoff": ("Take-off", "Výkaz výměr", "Aufmaß"),
    "line_key": ("Line key",),
    "total_price": (
        "Total", "Total price", "Amount", "Line total", "Extended price", "Cena celkem",
        "Celkem", "Celková cena", "Gesamtpreis", "GP", "Gesamtbetrag", "Betrag", "Summe",
    ),
    "category": ("Category", "Type", "Kind", "Kategorie", "Druh", "Typ položky", "Art"),
    "section": ("Section", "Group", "Oddíl", "Díl", "Část", "Abschnitt", "Gewerk"),
}  # fmt: skip
# A header row must name these (the description may be missing when there is a code).
REQUIRED = ("quantity", "unit")
REQUIRED_ONE_OF = ("description", "code")
# A row is taken for the header when it names at least this many known columns.
MIN_KNOWN_COLUMNS = 3

_BRACKETED = re.compile(r"[\[(].*?[\])]")
_NON_ALNUM = re.compile(r"[^0-9a-z#]+")
_CURRENCY = re.compile(r"(?:czk|eur|kc|usd|chf|gbp|pln)$")


def normalise(header: str) -> str:
    text = _BRACKETED.sub("", header)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _NON_ALNUM.sub("", text.casefold())


_LOOKUP: dict[str, str] = {
    normalise(name): field for field, names in SYNONYMS.items() for name in names
}
# Headers that name another field when their first one is taken by an earlier column: RTS writes
# `P.č.` (the number) and then `Číslo položky` (the item's code).
FALLBACKS: dict[str, str] = {normalise("Číslo položky"): "code"}


def field_for(header: str) -> str | None:
    key = _key(header)
    return _LOOKUP.get(key) if key else None


def _key(header: str) -> str:
    key = normalise(header)
    if key and key not in _LOOKUP and _CURRENCY.search(key):
        key = _CURRENCY.sub("", key)
    return key


@dataclass
class HeaderMap:
    """Which column index holds which field, and the names as the file spells them."""

    columns: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        missing = [name for name in REQUIRED if name not in self.columns]
        if not any(name in self.columns for name in REQUIRED_ONE_OF):
            missing.append(" or ".join(REQUIRED_ONE_OF))
        return missing


def map_header(cells: list[str]) -> HeaderMap:
    header = HeaderMap()
    for index, cell in enumerate(cells):
        text = str(cell).strip() if cell is not None else ""
        key = _key(text) if text else ""
        name = _LOOKUP.get(key) if key else None
        if name is not None and name in header.columns:
            name = FALLBACKS.get(key)
        if name is None or name in header.columns:
            if text:
                header.ignored.append(text)
            continue
        header.columns[name] = index
        header.names[name] = text
    return header


def looks_like_header(header: HeaderMap) -> bool:
    return len(header.columns) >= MIN_KNOWN_COLUMNS


def describe_missing(missing: list[str]) -> str:
    """`"quantity" (e.g. Quantity, Qty, Množství, …)` for each missing field."""
    parts = []
    for name in missing:
        fields = name.split(" or ")
        examples = ", ".join(n for f in fields for n in SYNONYMS[f][:4])
        parts.append(f'"{name.replace("_", " ")}" (e.g. {examples}, …)')
    return "; ".join(parts)
