"""The bulk writers' helpers."""

import uuid

import pytest
from django.db import connection, transaction
from psycopg.errors import ForeignKeyViolation

from projects.bulk import foreign_keys_checked_as_written, new_ids, positions_write
from projects.importers import ImportReport, ParsedPosition, rows_from_positions
from projects.models import Position, Project


def test_new_ids_are_distinct_random_uuids_as_text():
    ids = new_ids(20_000)

    assert len(set(ids)) == 20_000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text
    assert new_ids(0) == []


@pytest.mark.django_db
def test_rows_checked_as_written_fail_their_copy_not_the_commit(tenant):
    """An import's COPYs run while its file is parsed: the keys are checked there, not after."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite checks foreign keys at the commit, and has no COPY")
    gone = Project(id=uuid.uuid4(), tenant=tenant, name="never saved")
    rows = list(
        rows_from_positions(
            [ParsedPosition(1, "1", "231", "Zdivo", unit="m2")], report=ImportReport()
        )
    )

    with transaction.atomic():
        positions_write(project=gone, valid_from=1, rows=rows)  # deferred: written
        transaction.set_rollback(True)
    with pytest.raises(ForeignKeyViolation, match="project_id"), transaction.atomic():
        foreign_keys_checked_as_written()
        positions_write(project=gone, valid_from=1, rows=rows)
    assert not Position.objects.exists()
