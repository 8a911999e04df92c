"""Units compared as estimators mean them: case, superscripts and Czech/English synonyms."""

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


def normalise_unit(unit: str) -> str:
    cleaned = unit.strip().lower().replace(" ", "").rstrip(".")
    return _SYNONYMS.get(cleaned, cleaned)
