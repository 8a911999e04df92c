"""GAEB DA XML: every item kind, and the totals a bill declares checked against its items."""

from decimal import Decimal

from tests.projects import gaeb_files as g
from tests.projects.gaeb_checks import counted_total, differences, positions

D = Decimal


class TestKinds:
    def test_every_kind_in_nested_lots_and_titles(self):
        found, report = positions(g.bill(g.every_kind(), totals="auto"))
        assert [(p.position_number, p.kind) for p in found] == [
            ("01.01.0010", ""),
            ("01.01.0020", "lump_sum"),
            ("01.01.0030", "contingency"),
            ("01.01.0040", "contingency_without_total"),
            ("01.02.0010", "base"),
            ("01.02.0010.A", "alternative"),
            ("01.02.0020", "hourly"),
            ("01.02.0030", "qty_tbd"),
            ("01.02.0090", "markup"),
            ("02.01.0010", ""),
        ]
        # The text item is a note, not a position.
        assert report.notes["text_notes"] == ["01.01.0025: Hinweis: Aushub nach Bodengutachten"]
        assert report.notes["text items (kept as notes)"] == 1
        # Alternatives and contingencies without total are priced but add to no total.
        assert counted_total(found) == D("9412.00")
        assert set(differences(report).values()) == {D(0)}
        assert {row["part"]: row["items"] for row in report.reconciliation} == {
            "01": 7,  # the alternative and the contingency without total are not among them
            "01.01": 3,
            "01.02": 4,
            "02": 1,
            "02.01": 1,
            "": 8,
        }
        assert report.warning_count == 0

    def test_what_each_position_says(self):
        found, _ = positions(g.bill(g.every_kind(), totals="auto"))
        by_number = {p.position_number: p for p in found}
        first = by_number["01.01.0010"]
        assert (first.description, first.unit, first.quantity, first.total_price) == (
            "Oberboden abtragen",
            "m2",
            D("120"),
            D("540.00"),
        )
        assert first.long_text == "Oberboden 20 cm\nseitlich lagern"
        assert first.section == "Rohbau / Erdarbeiten"
        markup = by_number["01.02.0090"]
        # Markup % × the amount it applies to / 100: its total.
        assert (markup.unit, markup.quantity, markup.unit_price, markup.total_price) == (
            "%",
            D("5"),
            D("34.40"),
            D("172.00"),
        )
        assert by_number["01.02.0030"].total_price is None  # quantity to be determined

    def test_a_flat_bill_without_categories(self):
        items = [
            g.Item("10", "Erste", qty="2.000", unit="m", up="3.00", it="auto"),
            g.Item("20", "Zweite", qty="1.000", unit="m", up="4.00", it="auto"),
        ]
        found, report = positions(g.bill(items, levels=(), item_length=4, totals="auto"))
        assert [(p.position_number, p.section) for p in found] == [("0010", ""), ("0020", "")]
        assert differences(report) == {"": D(0)}

    def test_the_breakdown_pads_numeric_parts(self):
        items = [g.Category("1", "Los", [g.Item("1", "Eins", qty="1", unit="m", up="1")])]
        found, _ = positions(g.bill(items, levels=(3,), item_length=5))
        assert found[0].position_number == "001.00001"

    def test_the_unit_price_wins_over_a_disagreeing_total(self):
        items = [g.Item("0010", "Mauerwerk", qty="12.500", unit="m2", up="80.00", it="1010.00")]
        found, report = positions(g.bill([g.Category("01", "A", items)]))
        assert found[0].total_price == D("1000.00")
        assert "unit price wins (VOB/A §16c)" in str(report.warnings[0])
        assert "1010.00" in str(report.warnings[0]) and "1000.00" in str(report.warnings[0])

    def test_declared_totals_that_disagree_are_warnings_with_the_figures(self):
        bill = g.every_kind()
        bill[0].children[0].total = "3000.00"  # 01.01 declares 3000.00, its items 3340.00
        found, report = positions(g.bill(bill, totals={"Total": "12000.00"}))
        assert differences(report)["01.01"] == D("340.00")
        assert differences(report)[""] == D("-2588.00")
        assert report.total_mismatches == [
            "whole budget: the file declares 12000.00, its items add up to 9412.00 "
            "(difference 2588.00)"
        ]
        messages = [str(w) for w in report.warnings]
        assert any('"01.01"' in m and "3000.00" in m and "3340.00" in m for m in messages)
        assert len(found) == 10  # a warning, not an error

    def test_a_discount_that_does_not_add_up(self):
        items = [g.Item("0010", "A", qty="1", unit="m", up="100.00", it="auto")]
        totals = {"Total": "100.00", "DiscountPcnt": "10", "TotAfterDisc": "95.00"}
        _, report = positions(g.bill(items, levels=(), totals=totals))
        assert any("after discount is 95.00, not 90.00" in str(w) for w in report.warnings)
