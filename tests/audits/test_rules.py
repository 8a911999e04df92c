"""The rule families on their own, and together against the sample's known verdicts."""

import csv
import json
from collections import Counter
from decimal import Decimal

import pytest

from audits.rules.engine import audit_positions, status_of
from audits.rules.types import AuditPosition, CatalogEntry, Policy, Recommendation
from projects.units import normalise_unit
from tests.conftest import SAMPLE_DATA

D = Decimal
DEFAULT_POLICY = Policy()


def position(**overrides) -> AuditPosition:
    fields = dict(
        id="p1",
        position_number="1",
        code="131201101",
        description="Hloubení jam",
        unit="m3",
        quantity=D("10"),
        unit_price=D("182.00"),
        total_price=D("1820.00"),
    )
    return AuditPosition(**(fields | overrides))


ENTRY = CatalogEntry(
    id="c1",
    code="131201101",
    description="Hloubení jam",
    unit="m3",
    unit_price=D("182.00"),
    catalog_id="cat",
    catalog_version=1,
)


def verdict(
    *positions: AuditPosition, policy: Policy = DEFAULT_POLICY
) -> dict[str, tuple[str, list[str]]]:
    findings = audit_positions(
        positions=list(positions), catalog_entries={ENTRY.code: ENTRY}, policy=policy
    )
    return {pid: (status_of(f).value, [x.rule for x in f]) for pid, f in findings.items()}


class TestRules:
    def test_a_clean_position_is_green(self):
        assert verdict(position()) == {"p1": ("green", [])}

    @pytest.mark.parametrize(
        "overrides", [{"description": " "}, {"unit": ""}, {"quantity": D("0")}, {"quantity": None}]
    )
    def test_missing_fields_are_red(self, overrides):
        status, rules = verdict(position(**overrides))["p1"]
        assert status == "red" and "validation.required_fields" in rules

    def test_a_total_off_by_more_than_half_a_percent_is_red(self):
        # 0.5 % of 1820 is 9.10: 9.10 off is tolerated, 9.11 is not.
        assert verdict(position(total_price=D("1829.10")))["p1"][0] == "green"
        assert verdict(position(total_price=D("1829.11")))["p1"] == ("red", ["arithmetic.total"])

    def test_an_unpriced_position_is_not_an_arithmetic_error(self):
        assert verdict(position(unit_price=None, total_price=None))["p1"] == ("green", [])

    def test_an_unknown_code_is_amber(self):
        assert verdict(position(code="999"))["p1"] == ("amber", ["catalog.unknown_code"])

    def test_units_are_compared_normalised(self):
        assert normalise_unit(" M³ ") == normalise_unit("m3")
        assert normalise_unit("kus") == normalise_unit("ks") == normalise_unit("Pcs")
        assert verdict(position(unit="M³"))["p1"][0] == "green"
        assert verdict(position(unit="m2"))["p1"] == ("red", ["catalog.unit_mismatch"])

    @pytest.mark.parametrize(
        ("price", "expected"),
        [
            ("200.20", "green"),  # +10 % exactly is not above +10 %
            ("200.21", "amber"),
            ("227.50", "amber"),  # +25 % exactly
            ("227.51", "red"),
            ("163.80", "green"),  # -10 % exactly
            ("163.79", "amber"),
            ("100.00", "amber"),  # -45 %: suspiciously cheap, never red
        ],
    )
    def test_cost_deviation_thresholds(self, price, expected):
        unit_price = D(price)
        result = verdict(position(unit_price=unit_price, total_price=unit_price * 10))
        assert result["p1"][0] == expected

    def test_a_policy_can_tighten_the_thresholds(self):
        strict = Policy.from_overrides({"cost_red_above": "0.05"})
        p = position(unit_price=D("205.00"), total_price=D("2050.00"))  # +12.6 %
        assert verdict(p)["p1"][0] == "amber"
        assert verdict(p, policy=strict)["p1"][0] == "red"
        with pytest.raises(ValueError, match="unknown audit policy settings"):
            Policy.from_overrides({"cost_purple_above": "1"})

    def test_duplicates_are_amber_on_both(self):
        result = verdict(
            position(id="a"),
            position(id="b"),
            position(id="c", quantity=D("11"), total_price=D("2002.00")),
        )
        assert result["a"] == ("amber", ["duplicates.same_item"])
        assert result["b"] == ("amber", ["duplicates.same_item"])
        assert result["c"] == ("green", [])

    def test_findings_cite_the_catalog_item_and_version(self):
        findings = audit_positions(
            positions=[position(unit_price=D("300"), total_price=D("3000"), source_line=7)],
            catalog_entries={ENTRY.code: ENTRY},
            policy=Policy(),
        )["p1"]
        assert findings[0].evidence["catalog_item"] == "c1"
        assert findings[0].evidence["catalog_version"] == 1
        assert findings[0].evidence["source_line"] == 7
        assert "+64.8%" in findings[0].reasoning

    def test_the_status_is_the_worst_finding(self):
        findings = audit_positions(
            positions=[position(code="999", quantity=D("-1"), total_price=D("-182"))],
            catalog_entries={},
            policy=Policy(),
        )["p1"]
        assert {f.recommendation for f in findings} == {Recommendation.RED, Recommendation.AMBER}
        assert status_of(findings) == Recommendation.RED


def test_the_sample_budget_gets_exactly_the_expected_verdicts():
    expected = json.loads((SAMPLE_DATA / "budget-expected.json").read_text())
    with open(SAMPLE_DATA / "catalog.csv", encoding="utf-8") as f:
        catalog = {
            row["code"]: CatalogEntry(
                id=row["code"],
                code=row["code"],
                description=row["description"],
                unit=row["unit"],
                unit_price=D(row["unit_price"]),
                catalog_id="sample",
                catalog_version=1,
            )
            for row in csv.DictReader(f)
        }
    with open(SAMPLE_DATA / "budget-v1-en.csv", encoding="utf-8-sig") as f:
        positions = [
            AuditPosition(
                id=row["Item"],
                position_number=row["Item"],
                code=row["Code"],
                description=row["Description"],
                unit=row["Unit"],
                quantity=D(row["Quantity"]) if row["Quantity"] else None,
                unit_price=D(row["Unit price"]) if row["Unit price"] else None,
                total_price=D(row["Total"]) if row["Total"] else None,
            )
            for row in csv.DictReader(f)
        ]
    findings = audit_positions(positions=positions, catalog_entries=catalog, policy=Policy())
    verdicts = {pid: status_of(f).value for pid, f in findings.items()}
    assert verdicts == expected["verdicts"]
    assert Counter(verdicts.values()) == expected["audit_counts"]
