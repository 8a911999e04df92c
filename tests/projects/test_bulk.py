"""The bulk writers' helpers."""

import uuid

from projects.bulk import new_ids


def test_new_ids_are_distinct_random_uuids_as_text():
    ids = new_ids(20_000)

    assert len(set(ids)) == 20_000
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text
    assert new_ids(0) == []
