from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple


class Recommendation(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANKS[self.value]


_RANKS = {"green": 0, "amber": 1, "red": 2}


class AuditPosition(NamedTuple):
    """What the rules need to know of one position (a tuple: an audit makes 100,000 of them)."""

    id: str
    position_number: str
    code: str
    description: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    total_price: Decimal | None
    source_line: int | None = None
    kind: str = ""  # K, M, lump_sum, alternative, … (projects.models.Position.kind)
    price_system: str = ""  # the price system and edition the file names, e.g. CS ÚRS 2025 01
    section: str = ""  # "object / part / …"
    takeoff: Sequence[Mapping[str, Any]] = ()  # [{"expression", "value", "line"}]


class CatalogEntry(NamedTuple):
    """A catalog item of one edition, as the rules compare positions with it."""

    id: str
    code: str
    description: str
    unit: str
    unit_price: Decimal
    catalog_id: str
    catalog_version: int  # the edition's number
    edition: str = ""  # the edition's name, e.g. ÚRS 2026 01


@dataclass(frozen=True)
class Reference:
    """What the catalog and cost rules compare positions with.

    Each position is compared with the edition its price system names (`editions`, by
    `references.edition_key`), or with `default` (the catalog's newest edition) when it names
    none; a position naming an edition that is not in `editions` is compared with nothing. With
    `chosen`, every position is compared with `default` whatever it names, its catalog prices
    times (1 + `index` %) when an index is given."""

    default: Mapping[str, CatalogEntry] | None = None
    editions: Mapping[str, Mapping[str, CatalogEntry]] = field(default_factory=dict)
    chosen: bool = False
    index: Decimal | None = None  # percent, e.g. 6.2


@dataclass(frozen=True, slots=True)
class Sample:
    """A robust summary of comparable unit prices: how many, their median and their median
    absolute deviation (MAD)."""

    size: int
    median: Decimal
    mad: Decimal


# The settings' kinds for from_overrides (every other setting is a Decimal).
_INT_SETTINGS = frozenset({"outlier_min_sample", "concentration_top_count"})


@dataclass(frozen=True)
class Policy:
    """Audit thresholds and which rules run; the defaults of the six first rules are those of
    tests/data/README.md, the others are documented in docs/features/audits.md."""

    arithmetic_abs_tolerance: Decimal = Decimal("0.01")
    arithmetic_rel_tolerance: Decimal = Decimal("0.005")
    cost_red_above: Decimal = Decimal("0.25")
    cost_amber_above: Decimal = Decimal("0.10")
    cost_amber_below: Decimal = Decimal("-0.10")
    # A quantity against its take-off: a difference up to the absolute tolerance (in the
    # position's unit) is rounding; above the amber share of the take-off's result it is amber,
    # above the red share red.
    takeoff_abs_tolerance: Decimal = Decimal("0.01")
    takeoff_amber_above: Decimal = Decimal("0.001")
    takeoff_red_above: Decimal = Decimal("0.01")
    # A unit price against comparable ones: robust z = |price − median| / (1.4826 × MAD), from a
    # sample of at least `outlier_min_sample` prices, and only when the price is more than
    # `outlier_min_deviation` (a share) away from the median.
    outlier_min_sample: int = 5
    outlier_amber_score: Decimal = Decimal("3.5")
    outlier_red_score: Decimal = Decimal("7")
    outlier_min_deviation: Decimal = Decimal("0.10")
    # The `concentration_top_count` dearest positions carrying more than this share of the total.
    concentration_top_count: int = 3
    concentration_share: Decimal = Decimal("0.50")
    # The lump sums' share of the total.
    lump_sum_amber_share: Decimal = Decimal("0.15")
    lump_sum_red_share: Decimal = Decimal("0.30")
    # The same code at unit prices further apart than this share (highest / lowest − 1).
    code_price_tolerance: Decimal = Decimal("0.01")
    # Rules switched on or off against their defaults (audits.rules.engine.RULES), by rule name.
    rules: Mapping[str, bool] = field(default_factory=dict)

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any]) -> "Policy":
        unknown = set(overrides) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown audit policy settings: {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, value in overrides.items():
            if name == "rules":
                values[name] = {str(rule): bool(on) for rule, on in dict(value).items()}
            elif name in _INT_SETTINGS:
                values[name] = int(value)
            else:
                values[name] = Decimal(str(value))
        return cls(**values)

    def settings(self) -> dict[str, Any]:
        """Every setting as JSON keeps it: numbers as text, the rule switches as they are."""
        out: dict[str, Any] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            out[spec.name] = dict(value) if spec.name == "rules" else number_text(value)
        return out

    def problems(self) -> dict[str, str]:
        """What makes these thresholds unusable, by field (empty when they are fine): negative
        tolerances (every position would fail a check), an amber band at or above the red one,
        a lower bound that is not below the catalog price, shares above 1, samples too small to
        have a median and a spread."""
        found: dict[str, str] = {}
        for name in (
            "arithmetic_abs_tolerance",
            "arithmetic_rel_tolerance",
            "takeoff_abs_tolerance",
            "takeoff_amber_above",
            "code_price_tolerance",
            "outlier_min_deviation",
        ):
            if getattr(self, name) < 0:
                found[name] = "A tolerance cannot be negative."
        if self.arithmetic_rel_tolerance > 1:
            found.setdefault("arithmetic_rel_tolerance", "At most 1 (100 %).")
        if self.cost_amber_above < 0:
            found["cost_amber_above"] = "Amber starts at or above the catalog price: 0 or more."
        if self.cost_red_above <= self.cost_amber_above:
            found["cost_red_above"] = (
                f"Red must start above amber ({self.cost_amber_above}): a position turns amber "
                "before it turns red."
            )
        if not Decimal(-1) <= self.cost_amber_below <= 0:
            found["cost_amber_below"] = "Below the catalog price: between -1 (−100 %) and 0."
        for amber, red in (
            ("takeoff_amber_above", "takeoff_red_above"),
            ("outlier_amber_score", "outlier_red_score"),
            ("lump_sum_amber_share", "lump_sum_red_share"),
        ):
            if getattr(self, amber) < 0:
                found.setdefault(amber, "Cannot be negative.")
            if getattr(self, red) <= getattr(self, amber):
                found[red] = (
                    f"Red must start above amber ({getattr(self, amber)}): a position turns "
                    "amber before it turns red."
                )
        for name in ("concentration_share", "lump_sum_amber_share", "lump_sum_red_share"):
            if not Decimal(0) < getattr(self, name) <= 1:
                found.setdefault(name, "A share: above 0, at most 1 (100 %).")
        if self.outlier_min_sample < 3:
            found["outlier_min_sample"] = "At least 3 prices: fewer have no median and spread."
        if self.concentration_top_count < 1:
            found["concentration_top_count"] = "At least 1 position."
        return found


def number_text(value: Any) -> str:
    """A number as reports write it: no exponent, no trailing zeros ("0.8", "1")."""
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one position, with the why and what to do about it."""

    rule: str
    role: str
    recommendation: Recommendation
    confidence: Decimal
    reasoning: str
    suggested_fix: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleInfo:
    """A rule as the registry lists it: what it finds, and whether it runs by default."""

    summary: str
    default: bool = True
