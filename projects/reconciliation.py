"""Every import checks its items against the totals the file declares about itself.

A reader declares what the file states (`ImportReport.declare(object, part, amount)`: object ""
is the whole file, part "" a whole object); `Tally` sums the imported items the same way while
the rows are made; `reconcile` turns both into the version's reconciliation table and warns
about every figure that differs by more than rounding (0.01 per item summed). One function for
every format, so every format is checked alike.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from projects.rows import counts_toward_total

ROUNDING_PER_ITEM = Decimal("0.01")
WHOLE = ""  # the object or part code that stands for "all of it"


@dataclass
class Tally:
    """The imported items' totals per (object, part), and how many items each sums."""

    sums: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    counts: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    priced: dict[tuple[str, str], bool] = field(default_factory=lambda: defaultdict(bool))

    def add(self, *, object_code: str, parts: Iterable[str], kind: str, total: Decimal | None):
        """Count one item (its stored total) toward the whole, its object and each of its parts."""
        if not counts_toward_total(kind):
            return
        keys = {(WHOLE, WHOLE), (object_code, WHOLE)}
        keys.update((object_code, part) for part in parts if part)
        sums, counts, priced = self.sums, self.counts, self.priced
        for key in keys:
            counts[key] += 1
            if total is not None:
                sums[key] += total
                priced[key] = True


@dataclass(frozen=True)
class Mismatch:
    object: str
    part: str
    declared: Decimal
    computed: Decimal | None

    def __str__(self) -> str:
        computed = "nothing" if self.computed is None else _money(self.computed)
        difference = self.declared - (self.computed or 0)
        return (
            f"{describe(self.object, self.part)}: the file declares {_money(self.declared)}, "
            f"its items add up to {computed} (difference {_money(difference)})"
        )


def describe(object_code: str, part: str) -> str:
    if not object_code and not part:
        return "whole budget"
    if not part:
        return f'object "{object_code}"'
    if not object_code:
        return f'part "{part}"'
    return f'object "{object_code}", part "{part}"'


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def reconcile(
    declared: Iterable[tuple[str, str, Decimal]], tally: Tally
) -> tuple[list[dict], list[Mismatch]]:
    """The reconciliation table (one row per declared figure, in the order declared, repeats of
    the same figure once) and the figures that differ beyond rounding."""
    table: list[dict] = []
    mismatches: list[Mismatch] = []
    seen = set()
    for object_code, part, amount in declared:
        amount = amount.quantize(Decimal("0.01"))
        key = (object_code, part)
        if (key, amount) in seen:
            continue
        seen.add((key, amount))
        items = tally.counts.get(key, 0)
        computed = tally.sums[key].quantize(Decimal("0.01")) if tally.priced.get(key) else None
        # An unpriced tender declares 0 (or nothing) and computes nothing: that agrees.
        difference = amount - (computed or 0)
        ok = abs(difference) <= ROUNDING_PER_ITEM * max(items, 1)
        table.append(
            {
                "object": object_code,
                "part": part,
                "declared": _money(amount),
                "computed": None if computed is None else _money(computed),
                "difference": _money(difference),
                "items": items,
                "ok": ok,
            }
        )
        if not ok:
            mismatches.append(Mismatch(object_code, part, amount, computed))
    return table, mismatches


def is_total(mismatch: Mismatch) -> bool:
    """A disagreement about a whole object or the whole budget (not just one part of it)."""
    return mismatch.part == WHOLE
