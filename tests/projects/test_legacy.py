"""`manage.py import_legacy` and the `import_legacy` job: the sample file store and JSONL export
migrate to what their *-expected.json files say, with the broken parts reported; reruns add
nothing; a stopped run completes when rerun; --verify catches what went missing afterwards."""

import csv
import io
import json
import shutil
import signal
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from evidence.models import Evidence
from jobs.errors import JobCancelled
from jobs.models import Job
from jobs.services import job_create, job_execute
from projects.models import BudgetVersion, Finding, Position, Project
from projects.services import budget_import
from projects.services.legacy import WRITERS, legacy_migrate, legacy_verify
from tenants.models import Plan, Tenant
from tests.conftest import SHARED_DATA

STORE = SHARED_DATA / "legacy-store" / "data" / "projects"
JSONL = SHARED_DATA / "legacy-jsonl"
EXPECTED = json.loads((SHARED_DATA / "legacy-expected.json").read_text())
EXPECTED_JSONL = json.loads((SHARED_DATA / "legacy-jsonl-expected.json").read_text())
pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, CommandError | None]:
    """The command's output, and its CommandError when it exited non-zero."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_legacy", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def snapshot(tenant: Tenant) -> dict[str, int]:
    return {
        model.__name__: model.objects.for_tenant(tenant).count()
        for model in (Project, BudgetVersion, Position, Finding, Evidence)
    }


def assert_store_migrated(tenant: Tenant) -> None:
    projects = {p.legacy_id: p for p in Project.objects.for_tenant(tenant)}
    assert set(projects) == set(EXPECTED["projects"])
    for legacy_id, expected in EXPECTED["projects"].items():
        project = projects[legacy_id]
        assert project.name == expected["name"]
        assert project.position_count == expected["positions"]
        assert project.total_cost == Decimal(expected["total_cost"])
        version = project.current_version
        assert (version.number, version.trigger) == (1, BudgetVersion.Trigger.LEGACY)
        assert Finding.objects.filter(version=version).count() == expected["audit_results"]
        stored = set(
            Evidence.objects.for_tenant(tenant)
            .filter(sha256__in=expected["raw"].values())
            .values_list("sha256", flat=True)
        )
        assert stored == set(expected["raw"].values()), legacy_id


class CancelAtFourthCheck:
    """Progress that stops the run at its fourth check (after three projects)."""

    checks = 0

    def update(self, *args, **kwargs):
        pass

    def log(self, *args, **kwargs):
        pass

    def check_cancelled(self, **kwargs):
        self.checks += 1
        if self.checks == 4:
            raise JobCancelled()


class TestFileStore:
    def test_migrates_to_the_expected_and_reports_the_broken(self, tenant, tmp_path):
        report_path = tmp_path / "report.json"
        output, error = run("--tenant", tenant.slug, str(STORE), "--report", str(report_path))

        assert error is not None and "1 thing(s) rejected" in str(error)
        assert_store_migrated(tenant)
        document = json.loads(report_path.read_text())
        rejected = [(item["id"], item["why"]) for item in document["rejected"]]
        assert rejected == [(item["id"], item["why"]) for item in EXPECTED["rejected"]]
        assert "project-broken-json" in output and "positions.json is not valid JSON" in output
        assert not Project.objects.filter(legacy_id="project-broken-json").exists()

    def test_audit_results_become_findings_and_statuses(self, tenant):
        legacy_migrate(tenant=tenant, mode="store", path=STORE)
        source = json.loads((STORE / "project-655fcf16e3fa" / "audit_results.json").read_text())
        project = Project.objects.for_tenant(tenant).get(legacy_id="project-655fcf16e3fa")
        counts = Counter(item["recommendation"].lower() for item in source)
        # One legacy verdict per audited position: the project's counts are the verdicts'.
        assert (project.green_count, project.amber_count, project.red_count) == (
            counts["green"],
            counts["amber"],
            counts["red"],
        )
        first = source[0]
        finding = Finding.objects.get(
            version=project.current_version, source_line=1, rule=f"legacy.{first['expert_role']}"
        )
        assert finding.role == first["expert_role"]
        assert finding.recommendation == first["recommendation"].lower()
        assert finding.confidence == (Decimal(str(first["confidence"])) / 100).quantize(
            Decimal("0.001")
        )
        assert finding.position.position_number == first["position_number"]
        assert finding.position.audit_status == finding.recommendation
        unaudited = Position.objects.filter(project=project, findings__isnull=True)
        assert set(unaudited.values_list("audit_status", flat=True)) == {"unaudited"}

    def test_a_dry_run_writes_nothing(self, tenant):
        before = snapshot(tenant)
        output, error = run("--tenant", tenant.slug, str(STORE), "--dry-run")
        assert error is not None  # the broken project is reported in a dry run too
        assert "would migrate" in output and "project-broken-json" in output
        assert snapshot(tenant) == before

    def test_a_rerun_adds_nothing(self, tenant):
        run("--tenant", tenant.slug, str(STORE))
        before = snapshot(tenant)
        _, error = run("--tenant", tenant.slug, str(STORE))
        assert snapshot(tenant) == before
        assert "7 skipped as migrated already" in str(error)

    def test_a_run_stopped_half_way_completes_when_rerun(self, tenant):
        with pytest.raises(JobCancelled):
            legacy_migrate(tenant=tenant, mode="store", path=STORE, progress=CancelAtFourthCheck())
        assert Project.objects.for_tenant(tenant).count() == 3

        report = legacy_migrate(tenant=tenant, mode="store", path=STORE)
        assert len(report.skipped) == 3 and len(report.migrated) == 4
        assert_store_migrated(tenant)
        assert Position.objects.for_tenant(tenant).count() == sum(
            item["positions"] for item in EXPECTED["projects"].values()
        )

    def test_verify_proves_it_and_catches_a_deleted_position(self, tenant):
        legacy_migrate(tenant=tenant, mode="store", path=STORE)
        output, error = run("--tenant", tenant.slug, str(STORE), "--verify")
        assert error is None, output
        assert "Verified" in output

        project = Project.objects.for_tenant(tenant).get(legacy_id="project-1cbb78df4bb9")
        Position.objects.filter(project=project, position_number="7").delete()
        output, error = run("--tenant", tenant.slug, str(STORE), "--verify")
        assert error is not None and "difference" in str(error)
        assert "positions: 247 in the source, 246 here" in output

    def test_verify_catches_a_missing_document(self, tenant):
        legacy_migrate(tenant=tenant, mode="store", path=STORE)
        sha256 = EXPECTED["projects"]["project-655fcf16e3fa"]["raw"]["smlouva-0.pdf"]
        Evidence.objects.for_tenant(tenant).filter(sha256=sha256).delete()
        result = legacy_verify(tenant=tenant, mode="store", path=STORE)
        assert not result["ok"]
        row = next(r for r in result["projects"] if r["id"] == "project-655fcf16e3fa")
        assert row["differences"] == [f"smlouva-0.pdf ({sha256}): not stored"]

    def test_line_keys_match_the_importer(self, tenant):
        """A later import of the same budget changes nothing: rows and fingerprints agree."""
        legacy_migrate(tenant=tenant, mode="store", path=STORE)
        project = Project.objects.for_tenant(tenant).get(legacy_id="project-5a14d707deb5")
        positions = json.loads((STORE / "project-5a14d707deb5" / "positions.json").read_text())
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["Item", "Code", "Description", "Unit", "Quantity", "Unit price", "Total"])
        for item in positions:
            writer.writerow(
                [
                    item["position_number"],
                    item["code"],
                    item["description"],
                    item["unit"],
                    item["quantity"],
                    item["unit_price"],
                    item["total_price"],
                ]
            )
        outcome = budget_import(
            project=project, stream=io.BytesIO(text.getvalue().encode()), filename="same.csv"
        )
        # Nothing changes, so no version is made.
        assert outcome.unchanged and outcome.version.number == 1

    def test_a_project_that_cannot_be_written_is_skipped_and_the_others_proceed(
        self, tenant, tmp_path
    ):
        store = tmp_path / "projects"
        shutil.copytree(STORE, store)
        for path in store.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        store.chmod(0o755)
        bad = store / "project-1cbb78df4bb9" / "positions.json"
        items = json.loads(bad.read_text())
        items[3]["quantity"] = "lots"
        bad.write_text(json.dumps(items))

        report = legacy_migrate(tenant=tenant, mode="store", path=store)
        rejected = {item.id: item.why for item in report.rejected}
        assert rejected["project-1cbb78df4bb9"] == "positions.json, item 4: lots is not a number"
        assert len(report.migrated) == 6


class TestJsonl:
    def test_migrates_to_the_expected_and_reports_the_broken(self, tmp_path):
        report_path = tmp_path / "report.json"
        _, error = run("--jsonl", str(JSONL), "--report", str(report_path))
        assert error is not None and "3 thing(s) rejected" in str(error)

        for legacy_tenant, expected in EXPECTED_JSONL["tenants"].items():
            tenant = Tenant.objects.get(slug=legacy_tenant)
            projects = {p.legacy_id: p for p in Project.objects.for_tenant(tenant)}
            assert set(projects) == set(expected["projects"])
            for legacy_id, numbers in expected["projects"].items():
                assert projects[legacy_id].position_count == numbers["positions"]
                assert projects[legacy_id].total_cost == Decimal(numbers["total_cost"])
                assert projects[legacy_id].current_version.trigger == "legacy"
            evidence = dict(Evidence.objects.for_tenant(tenant).values_list("sha256", "size"))
            assert evidence == expected["evidence"]
        assert Tenant.objects.get(slug="tenant-1").plan == Plan.TEAM  # legacy "pro"
        assert Tenant.objects.get(slug="tenant-2").plan == Plan.ENTERPRISE

        rejected = json.loads(report_path.read_text())["rejected"]
        lines = [(r["file"], r["line"]) for r in rejected if r["kind"] == "line"]
        assert lines == [(r["file"], r["line"]) for r in EXPECTED_JSONL["rejected_lines"]]
        evidence = {r["id"]: r["why"] for r in rejected if r["kind"] == "evidence"}
        assert {k for k, why in evidence.items() if why.startswith("corrupt")} == set(
            EXPECTED_JSONL["corrupt_evidence"]
        )
        assert {k for k, why in evidence.items() if why.startswith("missing")} == set(
            EXPECTED_JSONL["missing_evidence"]
        )

    def test_a_rerun_adds_nothing_and_verify_passes(self):
        run("--jsonl", str(JSONL))
        tenants = list(Tenant.objects.filter(slug__in=["tenant-1", "tenant-2"]))
        before = {t.slug: snapshot(t) for t in tenants}
        run("--jsonl", str(JSONL))
        assert Tenant.objects.filter(slug__startswith="tenant-").count() == 2
        assert {t.slug: snapshot(t) for t in tenants} == before
        output, error = run("--jsonl", str(JSONL), "--verify")
        assert error is None, output

    def test_a_dry_run_creates_no_tenant(self):
        output, error = run("--jsonl", str(JSONL), "--dry-run")
        assert error is not None  # the broken lines and documents are reported
        assert "would be created" in output and "would migrate" in output
        assert not Tenant.objects.filter(slug__in=["tenant-1", "tenant-2"]).exists()


class TestJob:
    def test_runs_as_a_job_of_its_tenant_only(self, tenant, outsider, owner):
        job = job_create(
            tenant=tenant,
            kind="import_legacy",
            input={"path": str(STORE), "mode": "store"},
            dispatch=False,
        )
        job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert job.status == Job.Status.SUCCEEDED, job.error
        assert job.result["counts"]["migrated"] == 7
        assert job.result["rejected"][0]["id"] == "project-broken-json"

        assert owner.client.get(f"/api/v1/jobs/{job.id}/").status_code == 200
        assert outsider.client.get(f"/api/v1/jobs/{job.id}/").status_code == 404
        project = Project.objects.for_tenant(tenant).get(legacy_id="project-5a14d707deb5")
        assert outsider.client.get(f"/api/v1/projects/{project.id}/").status_code == 404
        assert not Project.objects.for_tenant(outsider.tenant).exists()

    def test_a_jsonl_tenant_goes_to_its_own_tenant_only(self, tenant):
        job = job_create(
            tenant=tenant,
            kind="import_legacy",
            input={"path": str(JSONL), "mode": "jsonl", "legacy_tenant": "tenant-1"},
            dispatch=False,
        )
        job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert job.status == Job.Status.FAILED
        assert job.error["code"] == "tenant_mismatch"
        assert not Project.objects.for_tenant(tenant).exists()

    def test_a_missing_source_fails_the_job(self, tenant, tmp_path):
        job = job_create(
            tenant=tenant,
            kind="import_legacy",
            input={"path": str(tmp_path / "nope"), "mode": "store"},
            dispatch=False,
        )
        job_execute(job_id=str(job.id))
        job.refresh_from_db()
        assert (job.status, job.error["code"]) == (Job.Status.FAILED, "source_not_found")

    def test_the_command_queues_jobs(self, tenant):
        output, error = run("--tenant", tenant.slug, str(STORE), "--job")
        assert error is None
        job = Job.objects.for_tenant(tenant).get(kind="import_legacy")
        assert str(job.id) in output
        assert job.input["mode"] == "store" and Path(job.input["path"]) == STORE.resolve()


def write_store(root: Path, *, projects: int, positions: int) -> Path:
    """A file store of generated projects (positions and audit results, no documents)."""
    for number in range(projects):
        folder = root / f"project-gen-{number:03d}"
        folder.mkdir(parents=True)
        meta = {"id": folder.name, "name": f"Generated {number}", "status": "draft"}
        (folder / "project.json").write_text(json.dumps(meta))
        items = [
            {
                "position_number": str(line),
                "code": f"{100000 + line}",
                "description": f"Položka {line}",
                "unit": "m2",
                "quantity": 2.5,
                "unit_price": 10.1,
                "total_price": 25.25,
            }
            for line in range(1, positions + 1)
        ]
        (folder / "positions.json").write_text(json.dumps(items))
        audits = [
            {
                "position_number": "1",
                "expert_role": "cost",
                "recommendation": "RED",
                "confidence": 80,
                "reasoning": "Drahé",
            }
        ]
        (folder / "audit_results.json").write_text(json.dumps(audits))
    return root


@pytest.mark.django_db(transaction=True)
def test_a_killed_run_completes_when_rerun(tmp_path):
    """A real `manage.py import_legacy` process SIGKILLed mid-run; the rerun completes it."""
    from tenants.services import tenant_create
    from tests.processes import process_env, wait_until

    tenant = tenant_create(slug="killed", name="Killed", plan=Plan.TEAM)
    store = write_store(tmp_path / "projects", projects=40, positions=2000)
    migrated = Project.objects.for_tenant(tenant).exclude(legacy_id="")
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "import_legacy", "--tenant", "killed", str(store)],
        cwd=Path(__file__).resolve().parents[2],
        env=process_env(DJANGO_SETTINGS_MODULE="config.settings"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: migrated.count() >= 3, timeout=60, what="some projects to migrate")
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=10)
    done = migrated.count()
    assert 3 <= done < 40

    report = legacy_migrate(tenant=tenant, mode="store", path=store)
    assert len(report.skipped) == done and len(report.migrated) == 40 - done
    assert migrated.count() == 40
    assert Position.objects.for_tenant(tenant).count() == 40 * 2000
    assert BudgetVersion.objects.for_tenant(tenant).count() == 40
    assert Finding.objects.for_tenant(tenant).count() == 40
    assert set(migrated.values_list("position_count", "total_cost", "red_count")) == {
        (2000, Decimal("50500.00"), 1)
    }


@pytest.mark.django_db(transaction=True)
class TestParallelWriters:
    """Outside a caller's transaction, PostgreSQL projects are written by WRITERS threads on
    connections of their own; everything above holds for them too (the embedded default writes
    one project after the other, as does a migration inside a caller's transaction)."""

    def expected_writers(self) -> int:
        return WRITERS if connection.vendor == "postgresql" else 1

    def test_the_sample_store_migrates_as_expected_in_the_sources_order(self, tenant):
        report = legacy_migrate(tenant=tenant, mode="store", path=STORE)

        assert report.writers == self.expected_writers()
        assert_store_migrated(tenant)
        migrated = [entry["id"] for entry in report.migrated]
        assert migrated == sorted(EXPECTED["projects"])  # the folders' order, not the writers'
        rejected = [(item.id, item.why) for item in report.rejected]
        assert rejected == [(item["id"], item["why"]) for item in EXPECTED["rejected"]]

    def test_a_cancelled_run_starts_nothing_more_and_completes_when_rerun(self, tenant, tmp_path):
        store = write_store(tmp_path / "projects", projects=30, positions=200)

        with pytest.raises(JobCancelled):
            legacy_migrate(tenant=tenant, mode="store", path=store, progress=CancelAtFourthCheck())
        migrated = Project.objects.for_tenant(tenant)
        done = migrated.count()
        # Three were reported; at most the writers' window of two per thread had started.
        assert 3 <= done <= 3 + 2 * self.expected_writers()
        # Every project there is whole: one transaction each, none half-written.
        assert set(migrated.values_list("position_count", flat=True)) == {200}
        assert Position.objects.for_tenant(tenant).count() == 200 * done

        report = legacy_migrate(tenant=tenant, mode="store", path=store)
        assert (len(report.skipped), len(report.migrated)) == (done, 30 - done)
        assert Position.objects.for_tenant(tenant).count() == 30 * 200
        assert legacy_verify(tenant=tenant, mode="store", path=store)["ok"]
