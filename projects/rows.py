"""The stored form of a position: its values rounded to the stored scales and its fingerprint.

Imports, edits and reverts all build rows here, so a fingerprint computed from a file equals the one
computed from the database for the same content.
"""

import hashlib
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import overload

from projects.models import (
    MONEY_DIGITS,
    MONEY_PLACES,
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
    "quantity",
    "unit_price",
    "total_price",
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
    "total_price": (MONEY_DIGITS, MONEY_PLACES),
}
MAX_LENGTHS: dict[str, int] = {
    name: Position._meta.get_field(name).max_length  # type: ignore[misc, union-attr]  # CharFields
    for name in ("section", "position_number", "code", "category", "unit", "line_key")
}
_NONE = "\x00"
# Ordinals of a new budget's rows are spaced this far apart, so later versions can insert rows
# between them without moving the rows around.
ORDINAL_GAP = 1 << 16
# field → (the quantum to round to, the exponent a stored value must stay below)
_QUANTIZE = {
    name: (Decimal(1).scaleb(-places), digits - places) for name, (digits, places) in SCALES.items()
}


class OutOfRange(ValueError):
    pass


def quantize(name: str, value: Decimal | None) -> Decimal | None:
    """`value` at the stored scale of field `name` (half up); OutOfRange when it has too many
    digits before the decimal point to store."""
    if value is None:
        return None
    exponent, limit = _QUANTIZE[name]
    rounded = value.quantize(exponent, rounding=ROUND_HALF_UP)
    if rounded.adjusted() >= limit:
        raise OutOfRange(name)
    return rounded if rounded else abs(rounded)  # no negative zero


def fingerprint(values: Iterable[object]) -> str:
    """Hash of a row's CONTENT_FIELDS values (in that order; numbers at the stored scale, as
    Decimal or as their text: both hash alike)."""
    text = "\x1f".join([_NONE if value is None else str(value) for value in values])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@overload
def plain_text(value: Decimal, *, min_places: int = 0) -> str: ...
@overload
def plain_text(value: None, *, min_places: int = 0) -> None: ...
def plain_text(value: Decimal | None, *, min_places: int = 0) -> str | None:
    """A stored number for people: no exponent, no trailing zeros beyond `min_places`."""
    if value is None:
        return None
    normalised = value.normalize()
    # A stored number is finite: its exponent is an int, not NaN's or infinity's letter.
    if normalised.as_tuple().exponent > -min_places:  # type: ignore[operator]
        normalised = normalised.quantize(Decimal(1).scaleb(-min_places))
    return format(normalised, "f")
