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
