"""Bulk writes of audit findings: COPY on PostgreSQL, bulk_create elsewhere (as projects.bulk)."""

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from psycopg.types.string import TextLoader

from audits.models import Finding
from projects.bulk import CREATE_BATCH
from projects.models import BudgetVersion


def rows_fetch_text_ids(*, queryset: QuerySet, id_columns: tuple[int, ...] = (0,)) -> list[tuple]:
    """All rows of a `values_list` queryset as tuples, with the UUIDs of `id_columns` as their
    text (what reports and the rules key by). On PostgreSQL straight from the driver, which then
    hands the text over as it comes instead of building UUID objects to be formatted again: for
    the 100,000 positions an audit reads, a second of work."""
    if connection.vendor != "postgresql":
        rows = [list(row) for row in queryset]
        for row in rows:
            for at in id_columns:
                row[at] = str(row[at]) if row[at] is not None else None
        return [tuple(row) for row in rows]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("uuid", TextLoader)  # this cursor's only
        cursor.execute(sql, params)
        return cursor.fetchall()


# Findings ------------------------------------------------------------------------------------
FINDING_COLUMNS = (
    "id",
    "tenant_id",
    "project_id",
    "version_id",
    "position_id",
    "line_key",
    "rule",
    "role",
    "recommendation",
    "confidence",
    "reasoning",
    "suggested_fix",
    "evidence",
    "catalog_id",
    "catalog_item_id",
    "catalog_version",
    "source_line",
    "report_id",
    "created_at",
)
_EVIDENCE = FINDING_COLUMNS.index("evidence")
# One encoder for every row: json.dumps builds a new one per call when given any option.
_encode_evidence = json.JSONEncoder(ensure_ascii=False).encode


def finding_row(
    *,
    version: BudgetVersion,
    position_id: Any,
    line_key: str,
    rule: str,
    role: str,
    recommendation: str,
    confidence: Decimal,
    reasoning: str,
    source_line: int | None,
    created_at: datetime,
    suggested_fix: str = "",
    evidence: dict | None = None,
    catalog_id: Any = None,
    catalog_item_id: Any = None,
    catalog_version: int | None = None,
    report_id: Any = None,
    id: Any = None,
) -> tuple:
    """One finding of `version` as `findings_write` takes it (FINDING_COLUMNS order); a new id
    unless one is given."""
    return (
        id or uuid.uuid4(),
        version.tenant_id,
        version.project_id,
        version.id,
        position_id,
        line_key,
        rule,
        role,
        recommendation,
        confidence,
        reasoning,
        suggested_fix,
        evidence or {},
        catalog_id,
        catalog_item_id,
        catalog_version,
        source_line,
        report_id,
        created_at,
    )


def findings_write(*, rows: Iterable[tuple]) -> int:
    """Write finding rows (FINDING_COLUMNS order, `evidence` a dict). Returns how many."""
    count = 0
    if connection.vendor == "postgresql":
        columns = ", ".join(FINDING_COLUMNS)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {Finding._meta.db_table} ({columns}) FROM STDIN") as copy,
        ):
            write_row = copy.write_row
            dumps = _encode_evidence
            for row in rows:
                cells = list(row)
                cells[_EVIDENCE] = dumps(cells[_EVIDENCE])
                write_row(cells)
                count += 1
        return count
    batch = []
    for row in rows:
        batch.append(Finding(**dict(zip(FINDING_COLUMNS, row, strict=True))))
        if len(batch) >= CREATE_BATCH:
            count += len(Finding.objects.bulk_create(batch))
            batch = []
    if batch:
        count += len(Finding.objects.bulk_create(batch))
    return count
