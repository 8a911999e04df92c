"""What every importer shares: the row it yields, how it reports problems, how it reads numbers.

Errors and warnings (README "Budgets" lists them): an error makes the whole file fail and names the
row (or XML path) and column; a warning is reported with the new version. Whatever is the auditor's
business (an empty description or unit, a quantity of zero or below, a total that disagrees with
quantity × unit price, an unpriced position) is neither: it is imported as it is.
"""

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# At most this many errors are collected before giving up on a file, and this many of them (and of
# the warnings) are listed in the job's error or result.
MAX_ERRORS = 1000
MAX_LISTED = 100

ProgressCallback = Callable[[int, int], None]
# The project's current positions by line key, as {"description", "unit", "kind", "long_text",
# "section"}: called (once, and only by a reader that needs them) to complete a file's items.
PreviousPositions = Callable[[], dict[str, dict[str, str]]]


@dataclass(slots=True)
class ParsedPosition:
    """One budget line as an importer read it, before keys and ordinals are given."""

    source_line: int | None
    position_number: str = ""
    code: str = ""
    description: str = ""
    category: str = ""
    unit: str = ""
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    total_price: Decimal | None = None
    section: str = ""
    # The object (building part) in multi-object formats: part of the position's identity.
    object_code: str = ""
    # Names the row for messages from its source line ('row 17', 'sheet "SO 01", row 17'), or
    # None when `where_text` does (an XML path); called only when a message needs it.
    locate: Callable[[int], str] | None = None
    where_text: str = ""
    # What the file says beyond the numbers (see Position): the row/item kind ("K", "M", "P",
    # GAEB "alternative", …; "" a plain item), the price system and edition, the long text, the
    # take-off lines ({"expression", "value" as decimal text or None, "line"}), and the unit
    # price split into material and assembly where the file splits it.
    kind: str = ""
    price_system: str = ""
    long_text: str = ""
    takeoff: list[dict] = field(default_factory=list)
    material_unit_price: Decimal | None = None
    assembly_unit_price: Decimal | None = None
    # The codes of the parts (díly) the item lies in, outermost first (e.g. ("HSV", "1")): the
    # reconciliation sums items per object and part against the totals the file declares.
    parts: tuple[str, ...] = ()
    # The line key when the reader knows it better than the number does (Kalkula's own export
    # carries it; a KROS number that restarts per part is told apart by its part); "" derives it.
    key: str = ""

    @property
    def where(self) -> str:
        # A row with `locate` has its line.
        return self.locate(self.source_line) if self.locate is not None else self.where_text  # type: ignore[arg-type]


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    column: str = ""

    def __str__(self) -> str:
        if self.column:
            return f'{self.where}, column "{self.column}": {self.message}'
        return f"{self.where}: {self.message}" if self.where else self.message

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "column": self.column, "message": str(self)}


class ImportFailed(Exception):
    """The file cannot become a version. `problems` lists what is wrong, row by row."""

    def __init__(
        self, code: str, message: str, *, problems: list[Problem] | None = None, **details
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = problems or []
        self.details = details

    def __reduce__(self) -> tuple:
        # Pickled when the file is read in a process of its own (projects.services.import_process).
        failed = functools.partial(ImportFailed, problems=self.problems, **self.details)
        return failed, (self.code, self.message)

    def as_details(self) -> dict:
        return {
            "errors": [p.as_dict() for p in self.problems[:MAX_LISTED]],
            "error_count": len(self.problems),
            **self.details,
        }


@dataclass
class ImportReport:
    """Errors, warnings and notes gathered while reading one file."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    warning_count: int = 0
    notes: dict[str, Any] = field(default_factory=dict)  # counts, names, lists of names
    # Totals the file declares, to reconcile with its items: (object, part, amount); object ""
    # is the whole file, part "" a whole object (projects.reconciliation).
    declared: list[tuple[str, str, Decimal]] = field(default_factory=list)
    # Whatever the file states about its totals ({"net": "…", "vat": "…", "gross": "…", …}).
    declared_totals: dict[str, Any] = field(default_factory=dict)
    # The reconciliation table once the items are read (projects.reconciliation.reconcile).
    reconciliation: list[dict] = field(default_factory=list)
    # The reconciliation's disagreements about a whole object or the whole budget: an import
    # with any must not look like a success.
    total_mismatches: list[str] = field(default_factory=list)
    # Every unit price of the file is empty or zero (a tender): prices and totals are stored empty.
    unpriced: bool = False

    def declare(self, object_code: str, part: str, amount: Decimal | None) -> None:
        """The file says the items of `object_code` / `part` add up to `amount`."""
        if amount is not None:
            self.declared.append((object_code, part, amount))

    def error(self, where: str, message: str, column: str = "") -> None:
        self.errors.append(Problem(where, message, column))
        if len(self.errors) >= MAX_ERRORS:
            raise ImportFailed(
                "invalid_file",
                f"The file has at least {MAX_ERRORS} problems; the first is: {self.errors[0]}",
                problems=self.errors,
            )

    def warning(self, where: str, message: str, column: str = "") -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append(Problem(where, message, column))

    def count(self, note: str, amount: int = 1) -> None:
        self.notes[note] = int(self.notes.get(note, 0)) + amount


# Numbers ------------------------------------------------------------------------------------------
class NotANumber(ValueError):
    pass


_IGNORED_IN_NUMBERS = str.maketrans(
    {" ": None, "\u00a0": None, "\u202f": None, "\u2009": None, "'": None, "\u2212": "-"}
)
_CURRENCY_SUFFIX = re.compile(r"(?:kč|czk|eur|€|usd|\$|chf|gbp|£|pln|zł)$", re.IGNORECASE)
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# Most cells: digits with at most one separator and nothing else (the fast path).
_SIMPLE_NUMBER = re.compile(r"(-?\d+)(?:([.,])(\d+))?")


def parse_decimal(text: str, *, decimal_comma: bool | None = None) -> Decimal | None:
    """A number as people write it in budgets: `1 234,50`, `1.234,50`, `1,234.50`, `-190.4`,
    `1 234,50 Kč`. None for an empty cell; NotANumber for anything else.

    A lone separator followed by exactly three digits is ambiguous (`1,234`): `decimal_comma`
    (the file's convention, when known) decides whether it groups thousands."""
    # Spaces dropped first (`1 234,50`: what Czech tools write), at C speed: the pattern admits
    # none, so this matches what the text itself would.
    simple = _SIMPLE_NUMBER.fullmatch(text.replace(" ", ""))
    if simple is None:
        cleaned = text.strip().translate(_IGNORED_IN_NUMBERS)
        simple = _SIMPLE_NUMBER.fullmatch(cleaned)
    if simple is not None:
        whole, sep, fraction = simple.groups()
        if sep is None:
            return Decimal(whole)
        if len(fraction) == 3 and decimal_comma is (sep == "."):
            return Decimal(whole + fraction)
        # The matched text is whole, separator, fraction: as a decimal point it is the literal.
        return Decimal(simple.string.replace(",", ".") if sep == "," else simple.string)
    cleaned = _CURRENCY_SUFFIX.sub("", cleaned)
    if cleaned == "":
        if text.strip() == "":
            return None
        raise NotANumber(text)
    commas, dots = cleaned.count(","), cleaned.count(".")
    if commas and dots:
        decimal_sep = "," if cleaned.rfind(",") > cleaned.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        cleaned = cleaned.replace(thousands, "")
        if cleaned.count(decimal_sep) > 1:
            raise NotANumber(text)
        cleaned = cleaned.replace(",", ".")
    elif commas or dots:
        sep = "," if commas else "."
        if commas + dots > 1:
            cleaned = cleaned.replace(sep, "")  # only thousands repeat
        else:
            digits_after = len(cleaned) - cleaned.index(sep) - 1
            groups_thousands = digits_after == 3 and (
                (sep == "," and decimal_comma is False) or (sep == "." and decimal_comma is True)
            )
            cleaned = cleaned.replace(sep, "" if groups_thousands else ".")
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        raise NotANumber(text)
    try:
        return Decimal(cleaned)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise NotANumber(text) from None


def cell_to_decimal(value: object, *, decimal_comma: bool | None = None) -> Decimal | None:
    """A spreadsheet cell (float, int, text, …) as a Decimal."""
    if value.__class__ is float:  # the common cell first, checked without isinstance
        return _float_decimal(value)
    if value.__class__ is str:
        return parse_decimal(value, decimal_comma=decimal_comma) if value else None
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, date | datetime | time | timedelta):
        raise NotANumber(str(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return _float_decimal(value)
    return parse_decimal(str(value), decimal_comma=decimal_comma)


def _float_decimal(value: float) -> Decimal:
    # Spreadsheets store binary floats: 15 significant digits is what the user typed (and drops
    # the noise of formulas such as 351680.13000000003).
    if value - value != 0.0:  # NaN or an infinity
        raise NotANumber(str(value))
    return Decimal(format(value, ".15g"))


def cell_to_text(value: object) -> str:
    """A spreadsheet cell as text: 12.0 → "12", a date as ISO."""
    if value.__class__ is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return format(value, ".15g")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def round_money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
