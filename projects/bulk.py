"""Bulk writes of position rows: COPY on PostgreSQL (≈ 9× bulk_create),
bulk_create elsewhere.

The only place that knows the database vendor; services call it the same way on both.
"""

import functools
import json
import os
import uuid
from collections.abc import Iterable
from uuid import UUID

from django.db import connection, transaction
from django.db.models import QuerySet

from projects.models import Position, Project
from projects.rows import ROW_FIELDS, TAKEOFF_INDEX, takeoff_text

CREATE_BATCH = 2000
# After writing this many rows the planner's statistics are refreshed at once: until autovacuum
# gets to it, a table grown by a bulk load is planned as if it were small (a sort of every row of
# the project instead of an index scan: 30 ms instead of 0.1 ms per page of positions).
ANALYZE_AFTER_ROWS = 10_000
CLOSE_BATCH = 500  # well under SQLite's limit of bound parameters
POSITION_COLUMNS = ("id", "tenant_id", "project_id", "valid_from", "valid_to", *ROW_FIELDS[1:])


def new_ids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as text, from one read of the system's random source:
    a third of what as many uuid.uuid4() calls cost, for the writers that make ids by the
    hundred thousand."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(byte & 0x0F | 0x40 for byte in raw[6::16])  # version 4
    raw[8::16] = bytes(byte & 0x3F | 0x80 for byte in raw[8::16])  # RFC 4122 variant
    digits = raw.hex()
    return [
        f"{digits[at : at + 8]}-{digits[at + 8 : at + 12]}-{digits[at + 12 : at + 16]}-"
        f"{digits[at + 16 : at + 20]}-{digits[at + 20 : at + 32]}"
        for at in range(0, 32 * count, 32)
    ]


def positions_write(*, project: Project, valid_from: int, rows: Iterable[tuple]) -> int:
    """Write `rows` (ROW_FIELDS order; an id of None gets a new UUID; numbers as Decimal or text;
    the take-off as a list or its JSON text) as current rows of `project` valid from version
    `valid_from`. Returns how many were written."""
    count = 0
    if connection.vendor == "postgresql":
        head = (str(project.tenant_id), str(project.id), valid_from, None)
        # New ids from one read of the random source when the rows are counted beforehand.
        fresh = iter(new_ids(len(rows))) if isinstance(rows, list) else None
        with connection.cursor() as cursor:
            columns = ", ".join(POSITION_COLUMNS)
            with cursor.copy(f"COPY {Position._meta.db_table} ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                for row in rows:
                    takeoff = row[TAKEOFF_INDEX]
                    if takeoff.__class__ is not str:
                        cells = list(row)
                        cells[TAKEOFF_INDEX] = takeoff_text(takeoff or [])
                        row = tuple(cells)
                    row_id = row[0] or (next(fresh) if fresh is not None else str(uuid.uuid4()))
                    write_row((row_id, *head, *row[1:]))
                    count += 1
        return count
    batch = []
    for row in rows:
        values = dict(zip(ROW_FIELDS, row, strict=True))
        values["id"] = values["id"] or uuid.uuid4()
        if isinstance(values["takeoff"], str):
            values["takeoff"] = json.loads(values["takeoff"])
        batch.append(
            Position(
                tenant_id=project.tenant_id,
                project_id=project.id,
                valid_from=valid_from,
                **values,
            )
        )
        if len(batch) >= CREATE_BATCH:
            count += len(Position.objects.bulk_create(batch))
            batch = []
    if batch:
        count += len(Position.objects.bulk_create(batch))
    return count


def positions_keys_checked(*, as_written: bool) -> None:
    """Whether this transaction checks the positions' foreign keys at the end of each statement
    that writes rows (`as_written`), or at its commit (Django's default). PostgreSQL only; a
    rollback, to a savepoint too, restores the default.

    An import's COPYs overlap the parsing of its file, and so do checks made as they are
    written; at the commit they came after it: a fifth of a 100,000-row import's time
    (bench/README.md)."""
    if connection.vendor != "postgresql":
        return
    mode = "IMMEDIATE" if as_written else "DEFERRED"
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS {_position_foreign_keys()} {mode}")


@functools.cache
def _position_foreign_keys() -> str:
    """The positions table's foreign key constraints, quoted, as `SET CONSTRAINTS` names them:
    read once per process (the migrations name them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(quote_ident(conname), ', ') FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [Position._meta.db_table],
        )
        return cursor.fetchone()[0]


def positions_close(*, ids: list[UUID], valid_to: int) -> None:
    """End the validity of rows `ids` at version `valid_to`."""
    if not ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Position._meta.db_table} SET valid_to = %s WHERE id = ANY(%s)",  # noqa: S608
                [valid_to, list(ids)],
            )
        return
    for start in range(0, len(ids), CLOSE_BATCH):
        Position.objects.filter(id__in=ids[start : start + CLOSE_BATCH]).update(valid_to=valid_to)


def positions_analyze(*, rows_written: int) -> None:
    """Refresh the planner's statistics of the positions table after a big write."""
    if rows_written < ANALYZE_AFTER_ROWS or connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # A small sample (3,000 rows instead of 30,000) is enough to plan these queries, at a
        # tenth of the cost; autovacuum's next full ANALYZE refines it.
        cursor.execute("SET LOCAL default_statistics_target = 10")
        # The columns queries filter on; tenant_id too: stale, it sends every position query of a
        # new tenant to the tenant index and a sort of all its rows.
        cursor.execute(
            f"ANALYZE {Position._meta.db_table} "
            "(tenant_id, project_id, valid_from, valid_to, ordinal, audit_status)"
        )


def positions_set_status(*, project: Project, ids_by_status: dict[str, list[UUID]]) -> int:
    """Set the audit status of rows of `project` (ids per status), touching only rows whose status
    changes. Returns how many rows changed."""
    changed = 0
    table = Position._meta.db_table
    for status, ids in ids_by_status.items():
        if not ids:
            continue
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET audit_status = %s "  # noqa: S608
                    "WHERE project_id = %s AND id = ANY(%s::uuid[]) AND audit_status <> %s",
                    [status, project.id, list(ids), status],
                )
                changed += cursor.rowcount
            continue
        for start in range(0, len(ids), CLOSE_BATCH):
            changed += (
                Position.objects.filter(project=project, id__in=ids[start : start + CLOSE_BATCH])
                .exclude(audit_status=status)
                .update(audit_status=status)
            )
    return changed


def rows_fetch(*, queryset: QuerySet) -> list[tuple]:
    """All rows of a `values_list` queryset as tuples. On PostgreSQL straight from the driver
    (which hands back UUIDs and Decimals itself), skipping the ORM's per-row work: for the 100k
    positions an audit reads, that is most of the reading time."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
