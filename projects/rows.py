"""The stored form of a position: its values rounded to the stored scales and its fingerprint.

Imports, edits and reverts all build rows here, so a fingerprint computed from a file equals the one
computed from the database for the same content.
"""

import hashlib
import json
import json.encoder
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import overload

from projects.models import (
    MONEY_DIGITS,
    MONEY_PLACES,
    NOT_COUNTED_KINDS,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    UNIT_PRICE_DIGITS,
    UNIT_PRICE_PLACES,
    Position,
)

# What a position says; two rows with the same content describe the same budget line.
CONTENT_FIELDS = (
    "section",
    "position_number",
    "code",
    "description",
    "category",
    "unit",
    # What the file says beyond the numbers (kind, price system, texts, take-off, split prices).
    "kind",
    "price_system",
    "long_text",
    "takeoff",
    "material_unit_price",
    "assembly_unit_price",
    "quantity",
    "unit_price",
    "total_price",
)
# The fields added to CONTENT_FIELDS after fingerprints were first stored: a row that leaves them
# all empty hashes as it did before, so existing rows still match their re-import.
EXTENDED_FIELDS = (
    "kind",
    "price_system",
    "long_text",
    "takeoff",
    "material_unit_price",
    "assembly_unit_price",
)
_EXTENDED = slice(
    CONTENT_FIELDS.index(EXTENDED_FIELDS[0]), CONTENT_FIELDS.index(EXTENDED_FIELDS[-1]) + 1
)
# A stored row as the bulk writer takes it (the writer adds tenant, project and validity).
ROW_FIELDS = (
    "id",
    "ordinal",
    "source_line",
    "line_key",
    *CONTENT_FIELDS,
    "audit_status",
    "fingerprint",
)
SCALES = {
    "quantity": (QUANTITY_DIGITS, QUANTITY_PLACES),
    "unit_price": (UNIT_PRICE_DIGITS, UNIT_PRICE_PLACES),
    "material_unit_price": (UNIT_PRICE_DIGITS, UNIT_PRICE_PLACES),
    "assembly_unit_price": (UNIT_PRICE_DIGITS, UNIT_PRICE_PLACES),
    "total_price": (MONEY_DIGITS, MONEY_PLACES),
}
MAX_LENGTHS: dict[str, int] = {
    name: Position._meta.get_field(name).max_length  # type: ignore[misc, union-attr]  # CharFields
    for name in (
        "section",
        "position_number",
        "code",
        "category",
        "unit",
        "line_key",
        "kind",
        "price_system",
    )
}
# Index of the take-off (JSON) in a ROW_FIELDS row: writers turn it into text or back.
TAKEOFF_INDEX = ROW_FIELDS.index("takeoff")
_NONE = "\x00"
# Ordinals of a new budget's rows are spaced this far apart, so later versions can insert rows
# between them without moving the rows around.
ORDINAL_GAP = 1 << 16
# field → (the quantum to round to, the exponent a stored value must stay below)
QUANTIZE = {
    name: (Decimal(1).scaleb(-places), digits - places) for name, (digits, places) in SCALES.items()
}


class OutOfRange(ValueError):
    pass


def quantize(name: str, value: Decimal | None) -> Decimal | None:
    """`value` at the stored scale of field `name` (half up); OutOfRange when it has too many
    digits before the decimal point to store."""
    if value is None:
        return None
    exponent, limit = QUANTIZE[name]
    rounded = value.quantize(exponent, rounding=ROUND_HALF_UP)
    if rounded.adjusted() >= limit:
        raise OutOfRange(name)
    return rounded if rounded else abs(rounded)  # no negative zero


def fingerprint(values: Iterable[object]) -> str:
    """Hash of a row's CONTENT_FIELDS values (in that order; numbers at the stored scale, as
    Decimal or as their text: both hash alike; the take-off as a list or as its `takeoff_text`)."""
    values = tuple(values)
    extended = values[_EXTENDED]
    plain = values[: _EXTENDED.start] + values[_EXTENDED.stop :]
    text = "\x1f".join(
        [
            value if value.__class__ is str else _NONE if value is None else str(value)
            for value in plain
        ]
    )
    if extended == _NOTHING_EXTENDED:  # what most rows say beyond the numbers: nothing
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    for value in extended:  # a loop, not any(…): this runs for every row of every import
        if value not in _EMPTY:
            text += "\x1e" + "\x1f".join(
                [
                    _NONE
                    if value is None
                    else takeoff_text(value)
                    if isinstance(value, list)
                    else str(value)
                    for value in extended
                ]
            )
            break
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


_EMPTY: tuple[object, ...] = ("", None, "[]", [])
# EXTENDED_FIELDS as an import's row leaves them all empty (no kind, price system, long text,
# take-off or split prices).
_NOTHING_EXTENDED = ("", "", "", "[]", None, None)


def takeoff_text(lines: list) -> str:
    """Take-off lines as canonical JSON text (sorted keys, no spaces): how rows carry them from
    the file to the writer, and what fingerprints hash."""
    parts = []
    for line in lines:
        # The readers' lines ({"expression": text, "line": int, "value": text or None}) are
        # written directly: json.dumps costs more than the rest of a row's import.
        if line.keys() != _LINE_KEYS:
            break
        expression, number, value = line["expression"], line["line"], line["value"]
        if expression.__class__ is not str or number.__class__ is not int:
            break
        if value is None:
            value_text = "null"
        elif value.__class__ is str:
            value_text = _encode(value)
        else:
            break
        parts.append(f'{{"expression":{_encode(expression)},"line":{number},"value":{value_text}}}')
    else:
        return f"[{','.join(parts)}]"
    return json.dumps(lines, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_LINE_KEYS = {"expression": None, "line": None, "value": None}.keys()
_encode = json.encoder.encode_basestring  # as json.dumps(…, ensure_ascii=False) writes a string


def counts_toward_total(kind: str) -> bool:
    """The one rule: a position's total adds to the version's total unless its kind says not."""
    return kind not in NOT_COUNTED_KINDS


@overload
def plain_text(value: Decimal, *, min_places: int = 0) -> str: ...
@overload
def plain_text(value: None, *, min_places: int = 0) -> None: ...
def plain_text(value: Decimal | None, *, min_places: int = 0) -> str | None:
    """A stored number for people: no exponent, no trailing zeros beyond `min_places`.

    Worked on the digits as text (a stored number is finite, of at most 20 digits): every list
    row shows several, and this is a third of what Decimal's normalize and quantize cost."""
    if value is None:
        return None
    text = str(value)  # exponent-free for a stored number, but for tiny or exponent-ful ones
    whole, _, fraction = (format(value, "f") if "E" in text else text).partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) < min_places:
        fraction = fraction.ljust(min_places, "0")
    return f"{whole}.{fraction}" if fraction else whole
