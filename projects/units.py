"""Units compared as estimators mean them: case, superscripts and Czech/English synonyms."""

import functools

_SYNONYMS = {
    "m²": "m2",
    "m³": "m3",
    "kus": "ks",
    "pc": "ks",
    "pcs": "ks",
    "piece": "ks",
    "stk": "ks",
    "stück": "ks",
    "bm": "m",
    "mb": "m",
    "tuna": "t",
    "tonne": "t",
    "hod": "h",
    "hr": "h",
    "kpl": "soubor",
    "sada": "soubor",
    "set": "soubor",
}


@functools.lru_cache(maxsize=4096)
def normalise_unit(unit: str) -> str:
    # Cached: a budget has a handful of distinct units over up to 100,000 positions.
    cleaned = unit.strip().lower().replace(" ", "").rstrip(".")
    return _SYNONYMS.get(cleaned, cleaned)
