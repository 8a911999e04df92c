"""What a position says beyond the numbers (kind, price system, texts, take-off, split prices), and
the one rule for which kinds count toward totals."""

from decimal import Decimal

import pytest
from django.db import transaction

from projects.bulk import positions_close, positions_write
from projects.importers import ImportReport, ParsedPosition, rows_from_positions
from projects.models import BudgetVersion, Position
from projects.reconciliation import Tally, reconcile
from projects.rows import CONTENT_FIELDS, fingerprint
from projects.selectors import exact_total, version_diff_counts
from projects.services.versions import project_lock, version_commit, version_open

pytestmark = pytest.mark.django_db


def item(number: str, total: str, kind: str = "", **more) -> ParsedPosition:
    return ParsedPosition(
        source_line=int(number),
        position_number=number,
        code=f"C{number}",
        description=f"Item {number}",
        unit="m2",
        quantity=Decimal(1),
        unit_price=Decimal(total),
        total_price=Decimal(total),
        kind=kind,
        **more,
    )


def commit(project, positions: list[ParsedPosition]) -> BudgetVersion:
    """A version of exactly `positions` (the rows of the current one closed)."""
    report = ImportReport()
    rows = list(rows_from_positions(positions, report=report))
    with transaction.atomic():
        project = project_lock(project=project)
        version = version_open(
            project=project,
            trigger=BudgetVersion.Trigger.IMPORT,
            created_by=None,
            reconciliation=report.reconciliation,
            declared_totals=report.declared_totals,
        )
        current = list(
            Position.objects.filter(project=project, valid_to__isnull=True).values_list(
                "id", flat=True
            )
        )
        positions_close(ids=current, valid_to=version.number)
        positions_write(project=project, valid_from=version.number, rows=rows)
        return version_commit(project=project, version=version)


class TestKindsThatDoNotCount:
    def test_an_alternative_item_is_kept_but_not_added(self, project):
        version = commit(
            project,
            [
                item("1", "100.00", "base"),
                item("2", "250.00", "alternative"),
                item("3", "40.00", "contingency_without_total"),
                item("4", "7.50", "contingency"),
                item("5", "2.50"),
            ],
        )
        assert version.position_count == 5
        assert version.total_cost == Decimal("110.00")
        project.refresh_from_db()
        assert project.total_cost == Decimal("110.00")
        assert exact_total(Position.objects.filter(project=project))["total_cost"] == Decimal(
            "110.00"
        )

    def test_the_diff_delta_follows_the_same_rule(self, project):
        commit(project, [item("1", "100.00"), item("2", "250.00", "alternative")])
        v2 = commit(
            project,
            [item("1", "100.00"), item("2", "300.00", "alternative"), item("3", "5.00")],
        )
        assert (v2.added_count, v2.modified_count, v2.removed_count) == (1, 1, 0)
        assert v2.delta_cost == Decimal("5.00")
        assert v2.total_cost == Decimal("105.00")
        diff = version_diff_counts(project=project, from_number=2, to_number=1)
        assert diff.delta_cost == Decimal("-5.00")

    def test_a_kind_change_is_a_modification(self, project):
        commit(project, [item("1", "100.00"), item("2", "250.00")])
        v2 = commit(project, [item("1", "100.00"), item("2", "250.00", "alternative")])
        assert v2.modified_count == 1
        assert v2.delta_cost == Decimal("-250.00")


class TestWhatAPositionKeeps:
    def test_kind_price_system_texts_takeoff_and_split_prices_are_stored(self, project):
        takeoff = [
            {"expression": "(14+1)*(7,2+1)", "value": "123", "line": 140},
            {"expression": "Součet", "value": None, "line": 141},
        ]
        commit(
            project,
            [
                item(
                    "1",
                    "100.00",
                    "K",
                    price_system="CS ÚRS 2025 01",
                    long_text="Plný popis položky",
                    takeoff=takeoff,
                    material_unit_price=Decimal("60"),
                    assembly_unit_price=Decimal("40"),
                )
            ],
        )
        position = Position.objects.get(project=project)
        assert position.kind == "K"
        assert position.price_system == "CS ÚRS 2025 01"
        assert position.long_text == "Plný popis položky"
        assert position.takeoff == takeoff
        assert position.material_unit_price == Decimal("60")
        assert position.assembly_unit_price == Decimal("40")
        # The stored row hashes as its file row did: a re-import keeps it.
        values = [getattr(position, name) for name in CONTENT_FIELDS]
        assert fingerprint(values) == position.fingerprint

    def test_an_unchanged_takeoff_is_no_change_and_a_changed_one_is(self, project):
        lines = [{"expression": "2*3", "value": "6", "line": 9}]
        commit(project, [item("1", "6.00", takeoff=lines)])
        v2 = commit(project, [item("1", "6.00", takeoff=lines)])
        assert v2.modified_count == 0
        v3 = commit(project, [item("1", "6.00", takeoff=[{**lines[0], "expression": "3*2"}])])
        assert v3.modified_count == 1

    def test_rows_without_the_new_fields_hash_as_before(self):
        # The fingerprint of a row that says nothing beyond the original fields is unchanged, so
        # versions stored before these fields existed still match their re-import.
        old = ("", "1", "C1", "Item", "", "m2", "1.000000", "5.0000", "5.00")
        new = (*old[:6], "", "", "", "[]", None, None, *old[6:])
        assert len(new) == len(CONTENT_FIELDS)
        import hashlib

        text = "\x1f".join(old)
        assert fingerprint(new) == hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class TestReconciliation:
    def test_declared_totals_are_checked_per_object_and_part(self):
        tally = Tally()
        tally.add(object_code="SO 01", parts=("HSV", "1"), kind="K", total=Decimal("100.00"))
        tally.add(object_code="SO 01", parts=("HSV", "2"), kind="M", total=Decimal("50.00"))
        tally.add(object_code="SO 01", parts=("HSV", "2"), kind="alternative", total=Decimal(9))
        declared = [
            ("", "", Decimal("150.00")),
            ("SO 01", "", Decimal("150.00")),
            ("SO 01", "HSV", Decimal("150.01")),
            ("SO 01", "1", Decimal("90.00")),
        ]
        table, mismatches = reconcile(declared, tally)
        assert [row["difference"] for row in table] == ["0.00", "0.00", "0.01", "-10.00"]
        assert [row["ok"] for row in table] == [True, True, True, False]
        assert len(mismatches) == 1
        assert str(mismatches[0]) == (
            'object "SO 01", part "1": the file declares 90.00, its items add up to 100.00 '
            "(difference -10.00)"
        )

    def test_the_version_keeps_the_table_and_the_declared_totals(self, project):
        report = ImportReport()
        report.declare("", "", Decimal("10.00"))
        report.declared_totals = {"net": "10.00"}
        rows = list(rows_from_positions([item("1", "10.00")], report=report))
        with transaction.atomic():
            locked = project_lock(project=project)
            version = version_open(
                project=locked,
                trigger=BudgetVersion.Trigger.IMPORT,
                created_by=None,
                reconciliation=report.reconciliation,
                declared_totals=report.declared_totals,
            )
            positions_write(project=locked, valid_from=version.number, rows=rows)
            version_commit(project=locked, version=version)
        version.refresh_from_db()
        assert version.declared_totals == {"net": "10.00"}
        assert version.reconciliation == [
            {
                "object": "",
                "part": "",
                "declared": "10.00",
                "computed": "10.00",
                "difference": "0.00",
                "items": 1,
                "ok": True,
            }
        ]
