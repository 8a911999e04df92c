"""The rule families added for audit depth, each on a small version whose every finding is worked
out by hand below: take-off, price outliers, concentration and lump sums, the same code at other
prices, duplicates across objects, edition selection and the price index; the take-off
expressions; the policy's validation."""

from decimal import Decimal

import pytest

from audits.rules.engine import RULES, audit_positions, enabled_rules, policy_problems
from audits.rules.expressions import NotAnExpression, evaluate, evaluate_takeoff, split_line
from audits.rules.outliers import sample_of
from audits.rules.references import edition_key
from audits.rules.types import AuditPosition, CatalogEntry, Policy, Reference, Sample
from projects.models import Position

D = Decimal
ALL_ON = {name: True for name in RULES}


def position(id: str, **fields) -> AuditPosition:
    values = dict(
        id=id,
        position_number=id,
        code=f"C{id}",
        description=f"Položka {id}",
        unit="m3",
        quantity=D("10"),
        unit_price=D("100"),
        section="SO 01 / HSV / 1 - Zemní práce",
    )
    values |= fields
    if "total_price" not in values:  # consistent, unless a test says otherwise
        quantity, price = values["quantity"], values["unit_price"]
        values["total_price"] = quantity * price if quantity is not None and price else None
    return AuditPosition(**values)


def findings(positions, *, rules, policy=None, **options) -> dict[str, list[tuple[str, str]]]:
    """(rule, recommendation) of each position's findings, only the rules named being on."""
    switches = {name: name in rules for name in RULES}
    policy = policy or Policy()
    policy = Policy(**{**policy.__dict__, "rules": switches})
    found = audit_positions(positions=positions, policy=policy, **options)
    return {
        pid: [(f.rule, f.recommendation.value) for f in listed]
        for pid, listed in found.items()
        if listed
    }


def only(positions, rule: str, **options):
    return audit_positions(
        positions=positions,
        policy=Policy(rules={name: name == rule for name in RULES}, **options.pop("policy", {})),
        **options,
    )


# Take-off -----------------------------------------------------------------------------------------
def lines(*expressions: str) -> list[dict]:
    return [{"expression": text, "value": None, "line": n} for n, text in enumerate(expressions, 1)]


KROS_TAKEOFF = lines('"základy"', "(14+1)*(7,2+1)", "5*2", "Součet")  # 123 + 10 = 133


class TestTakeoff:
    RULES = ("takeoff.mismatch", "takeoff.unparsable", "takeoff.missing")

    def test_every_finding_of_a_small_version(self):
        version = [
            position("1", quantity=D("133"), takeoff=KROS_TAKEOFF),  # agrees
            position("2", quantity=D("133.1"), takeoff=KROS_TAKEOFF),  # 0.1: under 0.133 (0.1 %)
            position("3", quantity=D("132"), takeoff=KROS_TAKEOFF),  # 1: over 0.133, under 1.33
            position("4", quantity=D("150"), takeoff=KROS_TAKEOFF),  # 17: over 1.33 (1 %)
            position(
                "5",
                quantity=D("10"),
                takeoff=[{"expression": "2*(3+", "value": "10", "line": 7}],  # stated 10 agrees
            ),
            position("6", quantity=D("12"), takeoff=lines("abc+1")),  # no value: no total
            position("7", quantity=D("7")),  # typed in without take-off
            position("8", quantity=D("1"), unit="kpl"),  # a lump sum needs none
            position("9", quantity=D("10"), takeoff=lines("2*3=6 [A]", "4=4 [B]", "Celkem: A+B")),
            position("10", quantity=D("2713"), takeoff=lines("1 356,5 × 2")),
            position("11", quantity=None, takeoff=KROS_TAKEOFF),  # nothing to compare
        ]
        assert findings(version, rules=self.RULES) == {
            "3": [("takeoff.mismatch", "amber")],
            "4": [("takeoff.mismatch", "red")],
            "5": [("takeoff.unparsable", "amber")],
            "6": [("takeoff.unparsable", "amber")],
            "7": [("takeoff.missing", "amber")],
        }

    def test_a_mismatch_names_the_figures_and_the_lines(self):
        (finding,) = only(
            [position("4", quantity=D("150"), takeoff=KROS_TAKEOFF)], "takeoff.mismatch"
        )["4"]
        assert finding.reasoning == (
            "Quantity 150 differs from its take-off's result 133 (2 line(s)) by 17 (+12.8 %)."
        )
        assert finding.evidence["takeoff_result"] == "133"
        assert finding.evidence["takeoff_lines"] == [1, 2, 3, 4]
        assert finding.suggested_fix.startswith("Set the quantity to 133")

    def test_an_unparsable_line_is_named(self):
        found = only(
            [position("5", takeoff=[{"expression": "2*(3+", "value": None, "line": 7}])],
            "takeoff.unparsable",
        )
        (finding,) = found["5"]
        assert "line 7 '2*(3+'" in finding.reasoning
        assert finding.evidence["takeoff_problems"][0]["line"] == 7

    def test_missing_take_off_is_off_by_default(self):
        assert "takeoff.missing" not in enabled_rules(Policy())
        assert {"takeoff.mismatch", "takeoff.unparsable"} <= enabled_rules(Policy())


class TestExpressions:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("(14+1)*(7,2+1)", "123"),
            ("7,2", "7.2"),
            ("0,550*(13,000+1,000)", "7.7"),
            ("1 356.991", "1356.991"),
            ("2 x 3,5", "7"),
            ("3 × 4 − 1", "11"),
            ("12 ÷ 4 · 2", "6"),
            ("10:4", "2.5"),
            ("-3+4*2", "5"),
            ("2*-3", "-6"),
            ("((1))", "1"),
        ],
    )
    def test_valid(self, text, value):
        assert evaluate(text) == D(value)

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("2*(3+4", "a parenthesis is not closed"),
            ("2+", "it ends where a number is expected"),
            ("5/0", "division by zero"),
            ("2 3", "follows a complete term"),
            ("(2)(3)", "follows a complete term"),
            ("2 % 3", "'%' is not a number"),
            ("*2", "where a number is expected"),
            ("2)", ") where a number" if False else "closes no parenthesis"),
            ("import os", "names no earlier line"),
            ("__import__('os')", "is not a number"),
        ],
    )
    def test_invalid(self, text, problem):
        with pytest.raises(NotAnExpression, match=problem.replace("(", r"\(").replace(")", r"\)")):
            evaluate(text)

    def test_references(self):
        assert evaluate("A+B*2", {"A": D("1"), "B": D("2")}) == 5
        assert evaluate("Součet*0,1", running=D("133")) == D("13.3")
        # Součet alone sums the lines above and adds nothing itself; inside an expression it is
        # the running total.
        result = evaluate_takeoff(lines("10", "20", "Součet", "Součet*0,1"))
        assert (result.total, result.lines) == (D("33"), 3)
        aspe = evaluate_takeoff(lines("2*3=6 [A]", "4=4 [B]", "Celkem: A+B=10 [C]"))
        assert aspe.total == 10

    def test_labels_comments_and_colons(self):
        assert split_line('(14+1)*(7,2+1) "obvod"').expression == "(14+1)*(7,2+1)"
        assert split_line('"základy"').expression == ""
        assert split_line("jáma na halu : 0,550*(13+1)").expression == "0,550*(13+1)"
        assert split_line("Odkaz na mn. položky pořadí 1 : 306,68*0,5").expression == "306,68*0,5"
        assert split_line("Součet").is_sum and split_line("Celkem: A+B").is_sum
        assert split_line("…=1 356.991 [A]").tag == "A"

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("4 ks", "4"),
            ("4ks", "4"),
            ("2*3,5 m2", "7"),
            ("2 m * 3,5 m", "7"),
            ("(2+3) bm", "5"),
            ("1,5 t + 500 kg", "501.5"),  # units are read, not converted
            ('12 m3 "výkop"', "12"),
            ("2 x 3 m.", "6"),
        ],
    )
    def test_a_unit_after_a_number_is_dropped(self, text, value):
        assert evaluate(split_line(text).expression) == D(value)

    def test_words_that_are_not_units_still_refuse(self):
        # `mm2` and `ksx` are not units; an upper-case `M` would name a line.
        for text in ("4 ksx", "2 mm2", "3 M"):
            with pytest.raises(NotAnExpression):
                evaluate(split_line(text).expression)
        assert evaluate_takeoff(lines("4 ks", "2 ks", "Součet")).total == 6

    def test_a_line_that_does_not_parse_uses_the_stated_value(self):
        result = evaluate_takeoff([{"expression": "2*(3+", "value": "10", "line": 1}])
        assert result.total == 10
        assert result.problems[0]["problem"] == "it ends where a number is expected"
        unknown = evaluate_takeoff([{"expression": "2*(3+", "value": None, "line": 1}])
        assert unknown.total is None


# Outliers ----------------------------------------------------------------------------------------
class TestOutliers:
    def test_median_and_mad(self):
        # 98 99 100 | 101 102 150: median 100.5; distances 0.5 0.5 1.5 | 1.5 2.5 49.5: MAD 1.5.
        assert sample_of([D(x) for x in (100, 102, 98, 101, 99, 150)]) == Sample(
            6, D("100.5"), D("1.5")
        )

    def test_every_finding_of_a_small_version(self):
        same_code = [
            position(f"a{n}", code="A", unit_price=D(price), section="SO 01 / PSV / 711 - Izolace")
            for n, price in enumerate((100, 102, 98, 101, 99, 150))
        ]
        # Codes seen once: compared by unit and part (m3 in 1 - Zemní práce):
        # 190 200 205 210 400: median 205, distances 0 5 5 15 195: MAD 5.
        by_part = [
            position(f"b{n}", code=f"B{n}", unit_price=D(price))
            for n, price in enumerate((200, 210, 190, 205, 400))
        ]
        lonely = [position("c", code="C", unit="t", unit_price=D("5000"))]  # nothing comparable
        version = same_code + by_part + lonely
        found = findings(version, rules=("outliers.version",))
        # 150: |150 − 100.5| / (1.4826 × 1.5) = 22.26 > 7, and 49 % off the median: red.
        # 400: |400 − 205| / (1.4826 × 5) = 26.3 > 7, and 95 % off: red. The others are within
        # 3.5 (e.g. 190: 2.0).
        assert found == {"a5": [("outliers.version", "red")], "b4": [("outliers.version", "red")]}
        (finding,) = only(version, "outliers.version")["a5"]
        assert finding.evidence | {"source_line": None} == {
            "scope": "version",
            "compared_by": "code",
            "group": {"code": "A"},
            "sample": 6,
            "median": "100.5",
            "mad": "1.5",
            "score": "22.2582",
            "deviation": "0.4925",
            "source_line": None,
        }
        assert "of 6 positions of this version with code A" in finding.reasoning
        by_unit = only(version, "outliers.version")["b4"][0]
        assert by_unit.evidence["group"] == {"unit": "m3", "part": "1 - Zemní práce"}

    def test_amber_between_the_scores_and_the_minimum_deviation(self):
        # 90 95 98 100 102 105 110: median 100, distances 0 2 2 5 5 10 10: MAD 5 (spread 7.41).
        prices = (90, 95, 98, 100, 102, 105, 110)
        version = [position(str(n), code="A", unit_price=D(p)) for n, p in enumerate(prices)]
        # 90 and 110 are 1.35 spreads away: within 3.5. 130 instead of 110 leaves the median and
        # the MAD as they are and is 30 / 7.41 = 4.05 spreads away (above 3.5, not above 7) and
        # 30 % off the median: amber.
        assert findings(version, rules=("outliers.version",)) == {}
        version[-1] = position("6", code="A", unit_price=D("130"))
        assert findings(version, rules=("outliers.version",)) == {
            "6": [("outliers.version", "amber")]
        }
        # Within 10 % of the median it is never an outlier, however small the spread.
        tight = [position(str(n), code="A", unit_price=D(p)) for n, p in enumerate((100,) * 5)]
        tight.append(position("x", code="A", unit_price=D("109")))
        assert findings(tight, rules=("outliers.version",)) == {}

    def test_the_tenant_sample_is_used_as_given(self):
        version = [position("1", code="A", unit_price=D("150")), position("2", code="B")]
        peers = {"A": Sample(10, D("100"), D("2")), "B": Sample(4, D("1"), D("0"))}  # B: too few
        found = only(version, "outliers.tenant", peers=peers)
        (finding,) = found["1"]
        assert (finding.rule, finding.recommendation.value) == ("outliers.tenant", "red")
        assert finding.evidence["sample"] == 10 and finding.evidence["scope"] == "tenant"
        assert "of 10 positions of the tenant's other projects with code A" in finding.reasoning
        assert found["2"] == []


# Concentration, lump sums, prices by code, duplicates across objects -----------------------------
class TestConcentration:
    def test_a_few_positions_carrying_most_of_the_cost(self):
        version = [position(str(n), total_price=D("100")) for n in range(9)]
        version.append(position("big", total_price=D("1000")))
        version.append(position("alt", total_price=D("50000"), kind="alternative"))  # not counted
        options = {
            "policy": {"concentration_top_count": 1},
            "not_counted": Position.NOT_COUNTED_KINDS,
        }
        found = only(version, "concentration.top_positions", **dict(options))
        # 1000 of 1900 = 52.6 % > 50 % (the alternative's 50000 counts toward no total).
        assert [pid for pid, listed in found.items() if listed] == ["big"]
        assert "carry 52.6 % of the budget's total 1900.00" in found["big"][0].reasoning
        # Nine priced positions are too few to speak of concentration (10 × 1 needed).
        assert not any(only(version[1:], "concentration.top_positions", **dict(options)).values())

    def test_the_lump_sums_share(self):
        version = [position(str(n), total_price=D("100")) for n in range(9)]
        amber = [*version, position("kpl", unit="kpl", quantity=D("1"), total_price=D("300"))]
        red = [*version, position("lump", kind="lump_sum", total_price=D("500"))]
        # 300 of 1200 = 25 %: above 15 %, not above 30 %; 500 of 1400 = 35.7 %: above 30 %.
        assert findings(amber, rules=("concentration.lump_sums",)) == {
            "kpl": [("concentration.lump_sums", "amber")]
        }
        assert findings(red, rules=("concentration.lump_sums",)) == {
            "lump": [("concentration.lump_sums", "red")]
        }


class TestCodePrices:
    def test_the_same_code_at_other_prices(self):
        version = [
            position("x1", code="X", unit="m2", unit_price=D("100")),
            position("x2", code="X", unit="m2", unit_price=D("100")),
            position("x3", code="X", unit="m²", unit_price=D("120")),  # the same unit
            position("w1", code="W", unit_price=D("100")),
            position("w2", code="W", unit_price=D("110")),  # no majority: both
            position("y1", code="Y", unit_price=D("100")),
            position("y2", code="Y", unit_price=D("100.5")),  # 0.5 %: within 1 %
            position("z1", code="Z", unit="m2", unit_price=D("100")),
            position("z2", code="Z", unit="m3", unit_price=D("300")),  # another unit
        ]
        # X: 100 is the price most of its positions share: only 120 is off it.
        assert findings(version, rules=("consistency.code_prices",)) == {
            pid: [("consistency.code_prices", "amber")] for pid in ("x3", "w1", "w2")
        }
        finding = only(version, "consistency.code_prices")["x3"][0]
        assert finding.reasoning == (
            "Code X has 2 unit prices in this budget: 100 (×2), 120 (×1); this one 120."
        )
        assert finding.evidence["spread"] == "0.2000"
        assert finding.evidence["majority_price"] == "100"


class TestDuplicatesAcrossObjects:
    def test_the_same_item_in_two_objects(self):
        version = [
            position("a", code="K1", section="SO 01 / HSV", description="Výkop"),
            position("b", code="K1", section="SO 02 / HSV", description="Výkop jam"),  # code + qty
            position(
                "c",
                code="K2",
                quantity=D("5"),
                section="SO 01",
                description="Beton  C25/30, základy.",
            ),
            position(
                "d",
                code="K3",
                quantity=D("7"),
                unit="M3",
                section="SO 02",
                description="beton c25/30 základy",
            ),
            position("e", code="K4", section="SO 03", description="Jiné"),
            position("f", code="K4", quantity=D("3"), section="SO 03", description="Jiné 2"),
            position("g", code="K5", quantity=D("3"), section="SO 03", description="Omítka"),
            position(
                "h", code="K5", quantity=D("3"), section="SO 03", description="Omítka vnitřní"
            ),
            # The same item in two objects in other quantities: how multi-object budgets look.
            position("i", code="K6", quantity=D("3"), section="SO 01", description="Malba"),
            position("j", code="K6", quantity=D("4"), section="SO 02", description="Malba"),
        ]
        # e/f: same code, other quantity; g/h: same code and quantity but one object; i/j: the
        # same code and description in two objects, other quantities.
        assert findings(version, rules=("duplicates.across_objects",)) == {
            pid: [("duplicates.across_objects", "amber")] for pid in "abcd"
        }
        found = only(version, "duplicates.across_objects")
        assert found["a"][0].evidence["signature"] == "code and quantity"
        assert found["a"][0].evidence["other_objects"] == ["SO 02"]
        assert found["c"][0].evidence["signature"] == "description and unit"


# Editions and the index --------------------------------------------------------------------------
def entries(edition: str, number: int, **prices: str) -> dict[str, CatalogEntry]:
    return {
        code: CatalogEntry(
            id=f"{edition}-{code}",
            code=code,
            description=code,
            unit="m3",
            unit_price=D(price),
            catalog_id="urs",
            catalog_version=number,
            edition=edition,
        )
        for code, price in prices.items()
    }


URS_2025 = entries("ÚRS 2025 01", 1, C="100")
URS_2026 = entries("ÚRS 2026 01", 2, C="130")


class TestEditions:
    def test_edition_names_compare_as_budgets_write_them(self):
        assert edition_key("CS ÚRS 2025 01") == edition_key("ÚRS 2025/01") == "urs 2025 01"
        assert edition_key("OTSKP 2024") == "otskp 2024"
        assert edition_key("Vlastní") == edition_key("") == ""

    def test_each_position_against_the_edition_it_names(self):
        reference = Reference(
            default=URS_2026, editions={"urs 2025 01": URS_2025, "urs 2026 01": URS_2026}
        )
        version = [
            position("2025", code="C", unit_price=D("100"), price_system="CS ÚRS 2025 01"),
            position("2026", code="C", unit_price=D("130"), price_system="CS ÚRS 2026 01"),
            position("none", code="C", unit_price=D("100")),  # the newest: −23 %
            position("own", code="C", unit_price=D("130"), price_system="Vlastní"),
            position("2022", code="C", unit_price=D("90"), price_system="CS ÚRS 2022 02"),
            position("unknown", code="Q", price_system="CS ÚRS 2025 01"),
        ]
        rules = ("catalog.unknown_code", "catalog.edition_missing", "cost.deviation")
        assert findings(version, rules=rules, reference=reference) == {
            "none": [("cost.deviation", "amber")],
            "2022": [("catalog.edition_missing", "amber")],  # and no false deviation
            "unknown": [("catalog.unknown_code", "amber")],
        }
        found = audit_positions(positions=version, policy=Policy(rules=ALL_ON), reference=reference)
        assert "priced on CS ÚRS 2022 02, an edition this tenant has not imported" in (
            found["2022"][0].reasoning
        )
        assert found["unknown"][0].reasoning == (
            "Code Q is not in the price catalog edition ÚRS 2025 01."
        )
        assert found["none"][0].evidence["catalog_edition"] == "ÚRS 2026 01"

    def test_a_chosen_edition_with_an_index(self):
        version = [
            position("p", code="C", unit_price=D("130"), price_system="CS ÚRS 2026 01"),
            position("q", code="C", unit_price=D("106"), price_system="CS ÚRS 2022 02"),
        ]
        plain = Reference(default=URS_2025, chosen=True)
        indexed = Reference(default=URS_2025, chosen=True, index=D("6.2"))
        rules = ("catalog.edition_missing", "cost.deviation")
        # Against 100: +30 % red; 106 is +6 %. Indexed +6.2 %, the reference is 106.20: 130 is
        # +22.4 % (amber) and 106 is −0.2 %.
        assert findings(version, rules=rules, reference=plain) == {"p": [("cost.deviation", "red")]}
        assert findings(version, rules=rules, reference=indexed) == {
            "p": [("cost.deviation", "amber")]
        }
        (finding,) = audit_positions(positions=version, policy=Policy(), reference=indexed)["p"]
        assert finding.rule == "cost.deviation"
        assert finding.reasoning == (
            "Unit price 130 is above the reference 106.2000 (catalog price 100 of item C in "
            "ÚRS 2025 01, indexed +6.2%) (+22.4%)."
        )
        assert finding.evidence["index"] == "6.2"
        assert finding.evidence["reference_unit_price"] == "106.2000"
        assert finding.evidence["catalog_unit_price"] == "100"


# The policy --------------------------------------------------------------------------------------
class TestPolicy:
    def test_the_defaults_are_sound(self):
        assert policy_problems(Policy()) == {}
        assert policy_problems(Policy(rules=ALL_ON)) == {}

    @pytest.mark.parametrize(
        ("settings", "field", "message"),
        [
            ({"takeoff_abs_tolerance": D("-0.1")}, "takeoff_abs_tolerance", "cannot be negative"),
            ({"code_price_tolerance": D("-1")}, "code_price_tolerance", "cannot be negative"),
            ({"takeoff_amber_above": D("0.02")}, "takeoff_red_above", "Red must start above amber"),
            ({"outlier_red_score": D("3")}, "outlier_red_score", "Red must start above amber"),
            ({"lump_sum_amber_share": D("0.4")}, "lump_sum_red_share", "above amber"),
            ({"concentration_share": D("1.5")}, "concentration_share", "at most 1"),
            ({"outlier_min_sample": 2}, "outlier_min_sample", "At least 3"),
            ({"concentration_top_count": 0}, "concentration_top_count", "At least 1"),
            ({"rules": {"takeoff.typo": True}}, "rules", "No such rule: takeoff.typo"),
        ],
    )
    def test_unusable_settings_are_refused_by_field(self, settings, field, message):
        problems = policy_problems(Policy(**settings))
        assert message in problems[field]

    def test_switches_override_the_defaults(self):
        policy = Policy(rules={"takeoff.missing": True, "duplicates.same_item": False})
        on = enabled_rules(policy)
        assert "takeoff.missing" in on and "duplicates.same_item" not in on
        assert Policy.from_overrides(
            {"rules": {"takeoff.missing": 1}, "outlier_min_sample": "4"}
        ) == Policy(rules={"takeoff.missing": True}, outlier_min_sample=4)
