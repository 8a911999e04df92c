"""Which catalog edition a position is compared with (pure: the audit service loads the editions).

Budgets name the price system and edition of each item (`CS ÚRS 2025 01`, `ÚRS 2025/01`,
`OTSKP 2024`); a catalog edition is named the way budgets name it (`ÚRS 2025 01`). Both are
compared by `edition_key`: no diacritics, case or separators, and no leading `CS` (cenová
soustava). An item priced by the estimator (`Vlastní`, `Individuální`) names no edition.
"""

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from audits.rules.types import AuditPosition, CatalogEntry, Reference

OWN_PRICE = frozenset({"vlastni", "vlastni cena", "individualni", "individualni cena", "own"})
_SEPARATORS = re.compile(r"[\s/_.,\-]+")


@functools.lru_cache(maxsize=1024)
def edition_key(name: str) -> str:
    """The comparable form of a price system's or edition's name ("" for none or an own price)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = [word for word in _SEPARATORS.split(text) if word]
    if words and words[0] == "cs":
        words = words[1:]
    key = " ".join(words)
    return "" if key in OWN_PRICE else key


@dataclass(frozen=True, slots=True)
class Resolved:
    """What one position is compared with: an edition's entries and the entry of its code (None:
    not in that edition), or nothing (`entries` None), saying why when it names an edition the
    tenant lacks (`missing`)."""

    entries: Mapping[str, CatalogEntry] | None
    entry: CatalogEntry | None = None
    missing: str = ""


NOTHING = Resolved(None)


def resolve(position: AuditPosition, reference: Reference) -> Resolved:
    entries = reference.default
    if not reference.chosen and position.price_system:
        key = edition_key(position.price_system)
        if key:
            named = reference.editions.get(key)
            if named is None:
                return Resolved(None, missing=position.price_system)
            entries = named
    if entries is None:
        return NOTHING
    return Resolved(entries, entries.get(position.code))
