"""GAEB files imported as users do: through the API's job, the admin action and the command."""

from decimal import Decimal

import pytest

from projects.models import Position
from tests.projects import gaeb_files as g
from tests.projects.gaeb_checks import DATA

D = Decimal


def version_positions(project) -> dict[str, Position]:
    return {
        p.position_number: p
        for p in Position.objects.filter(project=project, valid_to__isnull=True)
    }


@pytest.mark.django_db
class TestImportJob:
    """Through the imports endpoint and the job, as users upload them."""

    @pytest.mark.parametrize(
        ("name", "count", "total"),
        [
            ("gaebphp_boq.x83", 6, D("0")),
            ("gaebphp_markup.x83", 4, D("0")),
            ("gaebphp_priced.x84", 2, D("1450.00")),
            ("gaebphp_realistic.x84", 4, D("9649.00")),
        ],
    )
    def test_the_samples(self, project, import_file, name, count, total):
        job = import_file(project, DATA / name, name)
        assert job.status == "succeeded", job.error
        assert (project.position_count, project.total_cost) == (count, total)
        version = project.current_version
        assert all(row["ok"] for row in version.reconciliation)
        assert job.result["notes"]["format"] == "gaeb"

    def test_the_declared_discount_vat_and_gross_stay_with_the_version(self, project, import_file):
        import_file(project, DATA / "gaebphp_realistic.x84", "gaebphp_realistic.x84")
        version = project.current_version
        assert version.declared_totals["gross"] == "10908.19"
        assert version.declared_totals["net"] == "9166.55"
        assert [
            (row["part"], row["declared"], row["computed"]) for row in version.reconciliation
        ] == [
            ("01", "2899.00", "2899.00"),
            ("02", "6750.00", "6750.00"),
            ("02.01", "6750.00", "6750.00"),
            ("", "9649.00", "9649.00"),
        ]

    def test_every_kind_is_stored_and_only_what_counts_is_added(self, project, import_file, member):
        job = import_file(project, g.bill(g.every_kind(), totals="auto"), "lv.x86")
        assert job.status == "succeeded", job.error
        assert project.position_count == 10
        assert project.total_cost == D("9412.00")  # without the alternative and the contingency
        stored = version_positions(project)
        assert stored["01.02.0010.A"].kind == "alternative"
        assert stored["01.01.0040"].kind == "contingency_without_total"
        assert stored["01.01.0010"].long_text == "Oberboden 20 cm\nseitlich lagern"
        listed = member.client.get(f"/api/v1/projects/{project.id}/positions/?page_size=50")
        kinds = {p["position_number"]: p["kind"] for p in listed.json()["results"]}
        assert kinds["01.02.0090"] == "markup"

    def test_the_bvbs_test_bid(self, project, import_file):
        job = import_file(project, g.bvbs_bid(), "bvbs.x84")
        assert job.status == "succeeded", job.error
        assert (project.position_count, project.total_cost) == (28, D("2000000.00"))
        assert len(project.current_version.reconciliation) == 13
        assert all(row["ok"] for row in project.current_version.reconciliation)

    def test_a_tender_then_its_bid_the_diff_shows_the_prices(self, project, import_file, member):
        tender = g.bill(g.tender(g.every_kind()), phase="83")
        assert import_file(project, tender, "lv.x83").status == "succeeded"
        assert project.total_cost == 0
        bid = g.bill(g.every_kind(), phase="84", totals="auto")
        job = import_file(project, bid, "angebot.x84")
        assert job.status == "succeeded", job.error
        assert job.result["notes"]["completed_from_current_version"] == 10
        assert project.total_cost == D("9412.00")
        # The bid's items keep the tender's texts, units and kinds: only prices changed.
        stored = version_positions(project)
        assert (stored["01.02.0010.A"].kind, stored["01.02.0010.A"].unit) == ("alternative", "m3")
        assert stored["01.01.0010"].description == "Oberboden abtragen"
        diff = member.client.get(f"/api/v1/projects/{project.id}/diff/?from=1&to=2").json()
        assert diff["counts"] == {"added": 0, "removed": 0, "modified": 10}
        changed = set()
        for entry in diff["modified"]:
            changed |= set(entry["changes"])
        assert changed <= {"unit_price", "total_price", "quantity"}
        first = next(e for e in diff["modified"] if e["position_number"] == "01.01.0010")
        assert first["changes"] == {
            "unit_price": {"from": None, "to": "4.50"},
            "total_price": {"from": None, "to": "540.00"},
        }
        assert D(diff["delta_cost"]) == D("9412.00")

    def test_a_file_that_is_not_a_bill_fails_the_job_naming_its_phase(self, project, import_file):
        job = import_file(project, g.bill(g.every_kind(), phase="89"), "rechnung.x89")
        assert job.status == "failed"
        assert job.error["code"] == "not_a_bill"
        assert "X89 (invoice)" in job.error["message"]
        assert project.current_version is None


@pytest.mark.django_db
class TestAdminAndCommand:
    """The admin action and `import_budget` run the same import: GAEB is one more format."""

    def test_the_command(self, tenant, tmp_path, capsys):
        from django.core.management import call_command

        path = tmp_path / "bvbs.x84"
        path.write_bytes(g.bvbs_bid())
        call_command("import_budget", tenant.slug, "Testangebot", str(path), "--create")
        assert "28 positions, total 2000000.00" in capsys.readouterr().out

    def test_the_admin_action_and_the_version_page(self, client, project):
        from django.contrib.auth import get_user_model
        from django.core.files.uploadedfile import SimpleUploadedFile

        from jobs.models import Job
        from jobs.services import job_execute

        get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests")
        client.login(username="root", password="pw-for-tests")
        superuser_client = client
        action = {"action": "import_budget_file", "_selected_action": [project.pk]}
        upload = SimpleUploadedFile("lv.x86", g.bill(g.every_kind(), totals="auto"))
        superuser_client.post(
            "/admin/projects/project/", {**action, "apply": "1", "file": upload}, follow=True
        )
        job_execute(job_id=Job.objects.get(project=project, kind="import_budget").id)
        project.refresh_from_db()
        assert project.total_cost == D("9412.00")
        page = superuser_client.get(
            f"/admin/projects/budgetversion/{project.current_version.pk}/change/"
        ).content.decode()
        assert "01.02" in page and "9412.00" in page  # the reconciliation table
        positions = superuser_client.get(
            f"/admin/projects/position/?project__id__exact={project.pk}"
        ).content.decode()
        assert "alternative" in positions
