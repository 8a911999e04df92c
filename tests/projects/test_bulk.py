"""The bulk writers' helpers."""

import uuid

import pytest
from django.db import connection, transaction
from psycopg.errors import ForeignKeyViolation

from projects.bulk import new_ids, positions_keys_checked, positions_write
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
def test_the_positions_keys_are_checked_as_written_then_at_the_commit_again(tenant):
    """An import's COPYs run while its file is parsed: the keys are checked there, not after;
    what the transaction writes next is checked at the commit again."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite checks foreign keys at the commit, and has no COPY")
    gone = Project(id=uuid.uuid4(), tenant=tenant, name="never saved")
    rows = list(
        rows_from_positions(
            [ParsedPosition(1, "1", "231", "Zdivo", unit="m2")], report=ImportReport()
        )
    )

    with pytest.raises(ForeignKeyViolation, match="project_id"), transaction.atomic():
        positions_keys_checked(as_written=True)
        positions_write(project=gone, valid_from=1, rows=rows)
    with transaction.atomic():
        positions_keys_checked(as_written=True)
        positions_keys_checked(as_written=False)
        positions_write(project=gone, valid_from=1, rows=rows)  # fails only at a commit
        assert Position.objects.filter(project_id=gone.id).count() == 1
        transaction.set_rollback(True)
