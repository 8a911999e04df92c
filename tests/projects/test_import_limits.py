"""Hostile spreadsheets (issue 20): every spreadsheet is measured before a reader opens it; over a
limit the import fails naming the limit, nothing is written, and memory stays flat."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.archives import bomb_xlsx, far_cell_xlsx, ods, ods_cell, ods_row
from tests.catalogs.test_catalogs import run_import as run_catalog_import

ROOT = Path(__file__).resolve().parents[2]
# A reader that opened any of these would take gigabytes: the far cell 4 GB, the ODS 2.5 GB.
MAX_RSS_MB = 250


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("hostile")
    far = folder / "far-cell.xlsx"
    far.write_bytes(far_cell_xlsx())
    repeats = folder / "repeats.ods"
    repeats.write_bytes(ods(ods_row(ods_cell("x", repeat=1000), repeat=20_000)))
    return [bomb_xlsx(folder / "bomb.xlsx"), far, repeats]


def test_reading_hostile_spreadsheets_keeps_memory_flat(hostile_files, tmp_path):
    """In a process of its own (tests/projects/memory_probe.py), as a worker reads them."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "CELERY_", "AWS_"))
    }
    env |= {"KALKULA_VAR_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    probe = subprocess.run(
        [sys.executable, "-m", "tests.projects.memory_probe", *map(str, hostile_files)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    report = json.loads(probe.stdout.splitlines()[-1])
    assert report["outcomes"] == {
        "budget bomb.xlsx": "archive_limit_exceeded: ARCHIVE_MAX_UNCOMPRESSED_BYTES",
        "catalog bomb.xlsx": "archive_limit_exceeded: ARCHIVE_MAX_UNCOMPRESSED_BYTES",
        "budget far-cell.xlsx": "archive_limit_exceeded: SPREADSHEET_MAX_CELLS_PER_SHEET",
        "catalog far-cell.xlsx": "archive_limit_exceeded: SPREADSHEET_MAX_CELLS_PER_SHEET",
        "budget repeats.ods": "archive_limit_exceeded: SPREADSHEET_MAX_CELLS_PER_SHEET",
        "catalog repeats.ods": "archive_limit_exceeded: SPREADSHEET_MAX_CELLS_PER_SHEET",
    }
    assert report["max_rss_mb"] < MAX_RSS_MB, report


@pytest.mark.django_db
class TestImportJobs:
    def test_a_budget_over_a_limit_fails_its_job_naming_the_limit(self, project, import_file):
        job = import_file(project, far_cell_xlsx(), "rozpocet.xlsx")
        assert job.status == "failed"
        assert job.error["code"] == "archive_limit_exceeded"
        assert "SPREADSHEET_MAX_CELLS_PER_SHEET" in job.error["message"]
        assert job.error["details"]["limit"] == "SPREADSHEET_MAX_CELLS_PER_SHEET"
        assert job.error["details"]["maximum"] == settings.SPREADSHEET_MAX_CELLS_PER_SHEET
        assert project.current_version is None

    def test_a_catalog_over_a_limit_fails_its_job_naming_the_limit(self, admin):
        job = run_catalog_import(admin, ods(ods_row(ods_cell("x", 1000), 20_000)), "cenik.ods")
        assert job.status == "failed"
        assert job.error["code"] == "archive_limit_exceeded"
        assert job.error["details"]["limit"] == "SPREADSHEET_MAX_CELLS_PER_SHEET"

    def test_the_limits_are_settings(self, project, import_file, settings):
        settings.SPREADSHEET_MAX_CELLS_PER_SHEET = 1000
        job = import_file(project, (settings.BASE_DIR / "tests/data/budget-v1.xlsx"), "b.xlsx")
        assert job.status == "failed"
        assert job.error["details"] == {
            "limit": "SPREADSHEET_MAX_CELLS_PER_SHEET",
            "value": job.error["details"]["value"],
            "maximum": 1000,
            "errors": [],
            "error_count": 0,
        }
