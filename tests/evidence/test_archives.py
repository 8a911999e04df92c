"""A zip bomb is refused as evidence (issue 20): the upload path measures every zip's directory."""

import pytest

from evidence.models import Evidence
from tests.archives import bomb_xlsx, far_cell_xlsx
from tests.evidence.helpers import spool_files, upload

pytestmark = pytest.mark.django_db


def test_a_zip_bomb_is_refused_naming_the_limit_and_nothing_is_kept(member, tmp_path):
    bomb = bomb_xlsx(tmp_path / "bomb.xlsx").read_bytes()
    response = upload(member.client, bomb, name="rozpocet.xlsx")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "archive_limit_exceeded"
    assert error["details"]["limit"] == "ARCHIVE_MAX_UNCOMPRESSED_BYTES"
    assert "ARCHIVE_MAX_UNCOMPRESSED_BYTES" in error["message"]
    assert not Evidence.objects.for_tenant(member.tenant).exists()
    assert spool_files() == []


def test_a_workbook_whose_directory_is_fine_is_kept(member, settings):
    # Its cells are measured when it is imported (tests/projects/test_import_limits.py).
    response = upload(member.client, far_cell_xlsx(), name="far.xlsx")
    assert response.status_code == 201, response.content


def test_the_limits_are_settings(member, settings):
    settings.ARCHIVE_MAX_ENTRIES = 3
    response = upload(member.client, far_cell_xlsx(), name="far.xlsx")
    assert response.status_code == 413
    assert response.json()["error"]["details"] == {
        "limit": "ARCHIVE_MAX_ENTRIES",
        "value": 5,
        "maximum": 3,
    }
