from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Recommendation(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def rank(self) -> int:
        return _RANKS[self.value]


_RANKS = {"green": 0, "amber": 1, "red": 2}


@dataclass(frozen=True)
class AuditPosition:
    """What the rules need to know of one position."""

    id: str
    position_number: str
    code: str
    description: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    total_price: Decimal | None
    source_line: int | None = None


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    code: str
    description: str
    unit: str
    unit_price: Decimal
    catalog_id: str
    catalog_version: int


@dataclass(frozen=True)
class Policy:
    """Audit thresholds; the defaults are those of shared/data/README.md."""

    arithmetic_abs_tolerance: Decimal = Decimal("0.01")
    arithmetic_rel_tolerance: Decimal = Decimal("0.005")
    cost_red_above: Decimal = Decimal("0.25")
    cost_amber_above: Decimal = Decimal("0.10")
    cost_amber_below: Decimal = Decimal("-0.10")

    def problems(self) -> dict[str, str]:
        """What makes these thresholds unusable, by field (empty when they are fine): negative
        tolerances (every position would fail the arithmetic check), an amber band at or above
        the red one, a lower bound that is not below the catalog price."""
        found: dict[str, str] = {}
        for name in ("arithmetic_abs_tolerance", "arithmetic_rel_tolerance"):
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
        return found

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any]) -> "Policy":
        unknown = set(overrides) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown audit policy settings: {sorted(unknown)}")
        return cls(**{name: Decimal(str(value)) for name, value in overrides.items()})


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
