"""What every rule family is given: the positions, the policy, what to compare them with."""

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from audits.rules.references import Resolved, resolve
from audits.rules.types import AuditPosition, Policy, Reference, Sample


@dataclass
class AuditContext:
    positions: Sequence[AuditPosition]
    policy: Policy
    enabled: frozenset[str]  # the rules that run (the registry's defaults, then the policy's)
    reference: Reference = field(default_factory=Reference)
    # Unit prices of the same code in the tenant's other projects, by code.
    peers: Mapping[str, Sample] = field(default_factory=dict)
    # Kinds whose totals count toward no total (projects.models.Position.NOT_COUNTED_KINDS).
    not_counted: frozenset[str] = frozenset()

    def on(self, *rules: str) -> bool:
        """Whether any of `rules` runs."""
        return any(rule in self.enabled for rule in rules)

    @functools.cached_property
    def resolved(self) -> list[Resolved]:
        """Each position's catalog edition and entry (in position order), resolved once for the
        catalog and cost families."""
        reference = self.reference
        return [resolve(position, reference) for position in self.positions]


SECTION_SEPARATOR = " / "


@functools.lru_cache(maxsize=4096)  # a budget has a few objects and parts, many positions
def object_of(section: str) -> str:
    """The object a position lies in: the first level of its section path."""
    return section.split(SECTION_SEPARATOR, 1)[0].strip()


@functools.lru_cache(maxsize=4096)
def part_of(section: str) -> str:
    """The part (díl) a position lies in: the last level of its section path."""
    return section.rsplit(SECTION_SEPARATOR, 1)[-1].strip()
