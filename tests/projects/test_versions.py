"""Positions, edits, reverts and diffs over the API: any version browsable exactly, always."""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects.models import BudgetVersion, Position
from tests.conftest import SHARED_DATA
from tests.factories import ProjectFactory
from tests.projects.conftest import sample

EXPECTED = json.loads((SHARED_DATA / "budget-expected.json").read_text())
pytestmark = pytest.mark.django_db


@pytest.fixture
def v1(project, import_file):
    job = import_file(project, sample("budget-v1-en.csv"), "budget-v1-en.csv")
    assert job.status == "succeeded", job.error
    return project


@pytest.fixture
def v2(v1, import_file):
    job = import_file(v1, sample("budget-v2-en.csv"), "budget-v2-en.csv")
    assert job.status == "succeeded", job.error
    return v1


def all_positions(client, project, query: str = "") -> list[dict]:
    url = f"/api/v1/projects/{project.id}/positions/?page_size=120{query}"
    found = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        found += response.json()["results"]
        url = response.json()["next"]
    return found


def content(rows: list[dict]) -> list[tuple]:
    fields = ["line_key", "position_number", "code", "description", "unit", "quantity"]
    return [tuple(row[f] for f in [*fields, "unit_price", "total_price"]) for row in rows]


class TestPositions:
    def test_the_current_version_in_file_order(self, v1, viewer):
        rows = all_positions(viewer.client, v1)
        assert len(rows) == 300
        assert [r["position_number"] for r in rows] == [str(n) for n in range(1, 301)]
        assert rows[0] | {"id": None} == {
            "id": None,
            "line_key": "1",
            "section": "",
            "position_number": "1",
            "code": "342244137",
            "description": "Příčka z cihel broušených tl. 140 mm — varianta 137",
            "category": "",
            "unit": "m",
            "quantity": "249",
            "unit_price": "1412.37",
            "total_price": "351680.13",
            "kind": "",
            "price_system": "",
            "material_unit_price": None,
            "assembly_unit_price": None,
            "long_text": "",
            "takeoff": [],
            "audit_status": "unaudited",
            "source_line": 2,
            "valid_from": 1,
            "valid_to": None,
        }

    def test_filters(self, v1, viewer):
        Position.objects.filter(project=v1, line_key__in=["3", "7"]).update(audit_status="red")
        assert [r["line_key"] for r in all_positions(viewer.client, v1, "&status=red")] == [
            "3",
            "7",
        ]
        by_code = all_positions(viewer.client, v1, "&code=3422")
        assert by_code and all(r["code"].startswith("3422") for r in by_code)
        found = all_positions(viewer.client, v1, "&search=bednění základových")
        assert found and all("bednění základových" in r["description"] for r in found)
        # Case folding is the database's: SQLite folds ASCII letters only.
        assert [
            r["line_key"] for r in all_positions(viewer.client, v1, "&search=VARIANTA 137")
        ] == ["1"]
        assert "17" in [
            r["position_number"] for r in all_positions(viewer.client, v1, "&search=17")
        ]

    def test_bad_filters(self, v1, viewer):
        base = f"/api/v1/projects/{v1.id}/positions/"
        assert viewer.client.get(base + "?status=purple").status_code == 400
        assert viewer.client.get(base + "?version=x").status_code == 400
        missing = viewer.client.get(base + "?version=9")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "Version 9 not found."

    def test_the_list_runs_the_same_queries_whatever_the_page_size(self, v1, viewer):
        url = f"/api/v1/projects/{v1.id}/positions/?version=1&status=unaudited&page_size="
        viewer.client.get(url + "1")  # the key's last-used time is written on first use only
        counts = []
        for size in (10, 200):
            with CaptureQueriesContext(connection) as queries:
                response = viewer.client.get(url + str(size))
            assert len(response.json()["results"]) == size
            counts.append(len(queries))
        assert counts[0] == counts[1] <= 5

    def test_one_position(self, v1, viewer):
        position = Position.objects.get(project=v1, line_key="5")
        response = viewer.client.get(f"/api/v1/projects/{v1.id}/positions/{position.id}/")
        assert response.json()["code"] == "317168375"


class TestEdits:
    def test_an_edit_makes_a_version_and_the_old_one_stays_exact(self, v1, member):
        old = Position.objects.get(project=v1, line_key="1")
        response = member.client.patch(
            f"/api/v1/projects/{v1.id}/positions/{old.id}/", {"quantity": "250"}, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["version"] == 2
        assert body["position"]["id"] != str(old.id)
        assert (body["position"]["quantity"], body["position"]["total_price"]) == (
            "250",
            "353092.50",  # recomputed: 250 × 1412.37
        )
        version = BudgetVersion.objects.get(project=v1, number=2)
        assert (version.trigger, version.modified_count, version.delta_cost) == (
            "edit",
            1,
            Decimal("1412.37"),
        )
        assert version.actor == f"API key member key ({member.api_key.prefix})"
        assert version.summary == "Edited 1: quantity 249 → 250, total price 351680.13 → 353092.5"
        v1.refresh_from_db()
        assert v1.total_cost == Decimal(EXPECTED["total_cost"]) + Decimal("1412.37")
        first = all_positions(member.client, v1, "&version=1")[0]
        assert (first["quantity"], first["total_price"], first["valid_to"]) == (
            "249",
            "351680.13",
            2,
        )
        diff = member.client.get(f"/api/v1/projects/{v1.id}/diff/?from=1&to=2").json()
        assert diff["counts"] == {"added": 0, "removed": 0, "modified": 1}
        assert diff["modified"][0]["changes"]["quantity"] == {"from": "249", "to": "250"}

    def test_a_total_given_with_the_edit_is_kept(self, v1, member):
        old = Position.objects.get(project=v1, line_key="1")
        body = member.client.patch(
            f"/api/v1/projects/{v1.id}/positions/{old.id}/",
            {"quantity": "250", "total_price": "1.00", "description": "Příčka"},
            format="json",
        ).json()
        assert (body["position"]["total_price"], body["position"]["description"]) == (
            "1.00",
            "Příčka",
        )

    def test_an_edit_that_changes_nothing_makes_no_version(self, v1, member):
        old = Position.objects.get(project=v1, line_key="1")
        body = member.client.patch(
            f"/api/v1/projects/{v1.id}/positions/{old.id}/", {"quantity": "249.0"}, format="json"
        ).json()
        assert (body["version"], body["position"]["id"]) == (None, str(old.id))
        assert BudgetVersion.objects.filter(project=v1).count() == 1

    def test_bad_edits(self, v1, member, viewer):
        old = Position.objects.get(project=v1, line_key="1")
        url = f"/api/v1/projects/{v1.id}/positions/{old.id}/"
        assert member.client.patch(url, {"quantity": "abc"}, format="json").status_code == 400
        too_precise = member.client.patch(url, {"total_price": "1.001"}, format="json")
        assert too_precise.status_code == 400
        assert member.client.patch(url, {}, format="json").status_code == 400
        assert viewer.client.patch(url, {"quantity": "1"}, format="json").status_code == 403
        member.client.patch(url, {"quantity": "1"}, format="json")
        stale = member.client.patch(url, {"quantity": "2"}, format="json")
        assert (stale.status_code, stale.json()["error"]["code"]) == (409, "not_current")


class TestReverts:
    def test_a_revert_makes_a_new_version_equal_to_the_old_one(self, v2, member):
        response = member.client.post(f"/api/v1/projects/{v2.id}/versions/1/revert/")
        assert response.status_code == 201, response.content
        assert response.json() | {"created_at": None} == {
            "number": 3,
            "trigger": "revert",
            "parent": 2,
            "is_current": True,
            "actor": f"API key member key ({member.api_key.prefix})",
            "source_name": "",
            "summary": "Reverted to version 1",
            "changes": {"added": 19, "removed": 15, "modified": 28},
            "delta_cost": "-" + EXPECTED["v2"]["delta_cost"],
            "position_count": 300,
            "total_cost": EXPECTED["total_cost"],
            "reconciliation": [],
            "declared_totals": {},
            "created_at": None,
        }
        assert content(all_positions(member.client, v2)) == content(
            all_positions(member.client, v2, "&version=1")
        )
        same = member.client.get(f"/api/v1/projects/{v2.id}/diff/?from=1&to=3").json()
        assert same["counts"] == {"added": 0, "removed": 0, "modified": 0}
        v2.refresh_from_db()
        assert (v2.position_count, v2.total_cost) == (300, Decimal(EXPECTED["total_cost"]))

    def test_reverting_to_the_current_or_a_missing_version(self, v1, member):
        current = member.client.post(f"/api/v1/projects/{v1.id}/versions/1/revert/")
        assert (current.status_code, current.json()["error"]["code"]) == (409, "already_current")
        assert member.client.post(f"/api/v1/projects/{v1.id}/versions/7/revert/").status_code == 404


class TestDiffs:
    def test_old_versions_are_browsable_exactly(self, v2, member, tenant, import_file):
        fresh = ProjectFactory(tenant=tenant)
        import_file(fresh, sample("budget-v1-en.csv"), "budget-v1-en.csv")
        assert content(all_positions(member.client, v2, "&version=1")) == content(
            all_positions(member.client, fresh)
        )
        assert len(all_positions(member.client, v2)) == EXPECTED["v2"]["positions"]

    def test_a_diff_backwards_swaps_added_and_removed(self, v2, member):
        diff = member.client.get(f"/api/v1/projects/{v2.id}/diff/?from=2&to=1").json()
        assert [p["position_number"] for p in diff["removed"]] == EXPECTED["v2"]["added"]
        assert [p["position_number"] for p in diff["added"]] == EXPECTED["v2"]["removed"]
        assert [p["position_number"] for p in diff["modified"]] == EXPECTED["v2"]["modified"]
        assert diff["delta_cost"] == "-" + EXPECTED["v2"]["delta_cost"]

    def test_kinds_and_limits(self, v2, member):
        diff = member.client.get(
            f"/api/v1/projects/{v2.id}/diff/?from=1&to=2&kind=added,modified&limit=5"
        ).json()
        assert diff["counts"] == {"added": 15, "removed": 19, "modified": 28}
        assert (len(diff["added"]), len(diff["removed"]), len(diff["modified"])) == (5, 0, 5)
        assert diff["truncated"] is True
        assert diff["added"][0] | {"id": None} == {
            "id": None,
            "line_key": "301",
            "section": "",
            "position_number": "301",
            "code": diff["added"][0]["code"],
            "description": diff["added"][0]["description"],
            "category": "",
            "unit": diff["added"][0]["unit"],
            "quantity": diff["added"][0]["quantity"],
            "unit_price": diff["added"][0]["unit_price"],
            "total_price": diff["added"][0]["total_price"],
            "kind": "",
            "price_system": "",
            "long_text": "",
            "takeoff": [],
            "material_unit_price": None,
            "assembly_unit_price": None,
        }

    def test_bad_diff_requests(self, v1, member):
        base = f"/api/v1/projects/{v1.id}/diff/"
        missing = member.client.get(base + "?to=1")
        assert (missing.status_code, missing.json()["error"]["details"]) == (
            400,
            {"from": ["This field is required."]},
        )
        assert member.client.get(base + "?from=1&to=4").status_code == 404
        assert member.client.get(base + "?from=1&to=1&kind=nope").status_code == 400
        same = member.client.get(base + "?from=1&to=1").json()
        assert same["counts"] == {"added": 0, "removed": 0, "modified": 0}


class TestVersions:
    def test_list_and_detail(self, v2, viewer):
        listing = viewer.client.get(f"/api/v1/projects/{v2.id}/versions/").json()
        assert [(v["number"], v["is_current"]) for v in listing["results"]] == [
            (2, True),
            (1, False),
        ]
        detail = viewer.client.get(f"/api/v1/projects/{v2.id}/versions/1/").json()
        assert detail["changes"] == {"added": 300, "removed": 0, "modified": 0}
        assert (detail["total_cost"], detail["source_name"]) == (
            EXPECTED["total_cost"],
            "budget-v1-en.csv",
        )
        assert viewer.client.get(f"/api/v1/projects/{v2.id}/versions/3/").status_code == 404
