"""Unit prices far from the robust centre of comparable positions, without any catalog.

Comparable: the same code; where too few share it, the same unit in the same part (díl). The
centre is the median, the spread the median absolute deviation (MAD); a price's robust z-score is
|price − median| / (1.4826 × MAD) (1.4826 makes the MAD comparable with a standard deviation).
Two samples: the version's own positions (grouped here, in one pass) and the same code in the
tenant's other projects (`AuditContext.peers`, computed by the database)."""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

from audits.rules.context import AuditContext, part_of
from audits.rules.types import (
    AuditPosition,
    Finding,
    Policy,
    Recommendation,
    RuleInfo,
    Sample,
    number_text,
)
from projects.units import normalise_unit

ROLE = "cost"
RULES = {
    "outliers.version": RuleInfo(
        "The unit price is far from the median of comparable positions of the same version "
        "(robust z-score above the policy's amber or red score): amber or red.",
        default=False,
    ),
    "outliers.tenant": RuleInfo(
        "The unit price is far from the median of the same code in the tenant's other projects: "
        "amber or red.",
        default=False,
    ),
}
CONSISTENCY = Decimal("1.4826")
PLACES = Decimal("0.0001")


def sample_of(values: Iterable[Decimal]) -> Sample:
    """Size, median and MAD of the values."""
    ordered = sorted(values)
    median = _median(ordered)
    return Sample(len(ordered), median, _median(sorted(abs(v - median) for v in ordered)))


def _median(ordered: list[Decimal]) -> Decimal:
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def run(context: AuditContext) -> Iterator[tuple[str, Finding]]:
    if not context.on(*RULES):
        return
    policy = context.policy
    # (position, its unit price) of the priced positions.
    priced = [
        (p, p.unit_price)
        for p in context.positions
        if p.unit_price is not None and p.unit_price > 0
    ]
    if context.on("outliers.version"):
        yield from _version(priced, policy)
    if context.on("outliers.tenant") and context.peers:
        bounds: dict[str, tuple[Sample, Decimal, Decimal]] = {}
        for p, price in priced:
            peer = context.peers.get(p.code) if p.code else None
            if peer is None or peer.size < policy.outlier_min_sample:
                continue
            sample, low, high = bounds.get(p.code) or bounds.setdefault(
                p.code, _bounded(peer, policy)
            )
            if low <= price <= high:
                continue  # near the median: never an outlier
            finding = check(p, sample, policy, scope="tenant", compared_by=("code", p.code))
            if finding is not None:
                yield p.id, finding


def _version(
    priced: list[tuple[AuditPosition, Decimal]], policy: Policy
) -> Iterator[tuple[str, Finding]]:
    minimum = policy.outlier_min_sample
    by_code: dict[str, list[Decimal]] = defaultdict(list)
    for p, price in priced:
        if p.code:
            by_code[p.code].append(price)
    # Positions whose code too few share are compared by their unit and part: those samples are
    # gathered only for the units and parts such positions have.
    fallback: dict[int, tuple[str, str]] = {}
    for at, (p, _price) in enumerate(priced):
        if len(by_code.get(p.code, ())) < minimum and p.unit and (part := part_of(p.section)):
            fallback[at] = (normalise_unit(p.unit), part)
    by_part: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    if fallback:
        wanted = set(fallback.values())
        for p, price in priced:
            if p.unit and (key := (normalise_unit(p.unit), part_of(p.section))) in wanted:
                by_part[key].append(price)
    samples: dict[tuple[str, ...], tuple[Sample, Decimal, Decimal]] = {}
    for at, (p, price) in enumerate(priced):
        part_key = fallback.get(at)
        compared_by: tuple[str, ...]
        if part_key is None:
            prices, compared_by = by_code.get(p.code, []), ("code", p.code)
        else:
            prices, compared_by = by_part[part_key], ("unit and part", *part_key)
        if len(prices) < minimum:
            continue
        sample, low, high = samples.get(compared_by) or samples.setdefault(
            compared_by, _bounded(sample_of(prices), policy)
        )
        if low <= price <= high:
            continue  # near the median: never an outlier
        finding = check(p, sample, policy, scope="version", compared_by=compared_by)
        if finding is not None:
            yield p.id, finding


def _bounded(sample: Sample, policy: Policy) -> tuple[Sample, Decimal, Decimal]:
    """The sample, and the prices between which a price is too near its median to be an outlier
    (none, when the median is not a price)."""
    if sample.median <= 0:
        return sample, Decimal("Infinity"), Decimal("-Infinity")
    spread = sample.median * policy.outlier_min_deviation
    return sample, sample.median - spread, sample.median + spread


def check(
    position: AuditPosition, sample: Sample, policy: Policy, *, scope: str, compared_by: tuple
) -> Finding | None:
    price, median = position.unit_price, sample.median
    if price is None or median <= 0:
        return None
    deviation = price / median - 1
    if abs(deviation) <= policy.outlier_min_deviation:
        return None
    spread = CONSISTENCY * sample.mad
    score = abs(price - median) / spread if spread else None  # None: no spread at all
    if score is not None and score <= policy.outlier_amber_score:
        return None
    red = score is None or score > policy.outlier_red_score
    where = (
        "positions of this version"
        if scope == "version"
        else "positions of the tenant's other projects"
    )
    if compared_by[0] == "code":
        group = f"{where} with code {compared_by[1]}"
        described = {"code": compared_by[1]}
    else:
        group = f"{where} in {compared_by[1]} in part {compared_by[2]!r}"
        described = {"unit": compared_by[1], "part": compared_by[2]}
    score_text = f"{score:.1f}" if score is not None else "∞ (they all have one price)"
    return Finding(
        rule=f"outliers.{scope}",
        role=ROLE,
        recommendation=Recommendation.RED if red else Recommendation.AMBER,
        confidence=Decimal("0.6"),
        reasoning=(
            f"Unit price {price} is {deviation * 100:+.1f} % from the median {_text(median)} of "
            f"{sample.size} {group} (MAD {_text(sample.mad)}, robust z-score {score_text})."
        ),
        suggested_fix=f"Justify the price or bring it near {_text(median)}.",
        evidence={
            "scope": scope,
            "compared_by": compared_by[0],
            "group": described,
            "sample": sample.size,
            "median": _text(median),
            "mad": _text(sample.mad),
            "score": None if score is None else _text(score),
            "deviation": str(deviation.quantize(PLACES)),
            "source_line": position.source_line,
        },
    )


def _text(value: Decimal) -> str:
    return number_text(value.quantize(PLACES))
