"""The import's and the diff's baselines: psycopg COPYs of the same rows, a raw SQL diff."""

import os
import time
import uuid
from pathlib import Path


def parsed_rows(tenant_id: str, project_id: str, path: Path) -> list[tuple]:
    """The file's rows as the import writes them (parsed by the importer, untimed)."""
    from projects.importers import ImportReport, read_rows

    with path.open("rb") as stream:
        report = ImportReport()
        return [
            (str(uuid.uuid4()), tenant_id, project_id, 1, None, *row[1:])
            for row in read_rows(
                stream, filename=path.name, report=report, on_progress=lambda *_: 0
            )
        ]


def copy_baseline(
    tenant_id: str, project_id: str, path: Path, rows: list[tuple] | None = None
) -> tuple[float, float]:
    """Seconds to COPY the file's rows (parsed beforehand, untimed) with psycopg into a table of
    the positions table's shape, and into a bare table with the same columns only."""
    import psycopg

    from projects.bulk import POSITION_COLUMNS

    if rows is None:
        rows = parsed_rows(tenant_id, project_id, path)
    else:  # the same rows, as this project's
        rows = [(row[0], tenant_id, project_id, *row[3:]) for row in rows]
    columns = ", ".join(POSITION_COLUMNS)  # the writer's own column list
    timings = []
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        for shape in ("same", "bare"):
            conn.execute("DROP TABLE IF EXISTS bench_copy")
            if shape == "same":
                conn.execute("CREATE TABLE bench_copy (LIKE projects_position INCLUDING ALL)")
                conn.execute(
                    "ALTER TABLE bench_copy ADD FOREIGN KEY (tenant_id) REFERENCES tenants_tenant "
                    "DEFERRABLE INITIALLY DEFERRED, ADD FOREIGN KEY (project_id) REFERENCES "
                    "projects_project DEFERRABLE INITIALLY DEFERRED"
                )
            else:
                conn.execute("CREATE TABLE bench_copy (LIKE projects_position)")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cursor:
                with cursor.copy(f"COPY bench_copy ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            conn.commit()
            timings.append(time.perf_counter() - started)
        conn.execute("DROP TABLE bench_copy")
        conn.commit()
    return timings[0], timings[1]


RAW_DIFF = """
SELECT a.id, a.line_key, a.ordinal, a.section, a.position_number, a.code, a.description,
       a.category, a.unit, a.quantity, a.unit_price, a.total_price,
       b.id, b.line_key, b.ordinal, b.section, b.position_number, b.code, b.description,
       b.category, b.unit, b.quantity, b.unit_price, b.total_price
FROM bench_v1 a FULL OUTER JOIN bench_v2 b ON a.line_key = b.line_key
WHERE a.line_key IS NULL OR b.line_key IS NULL
   OR a.section IS DISTINCT FROM b.section OR a.position_number IS DISTINCT FROM b.position_number
   OR a.code IS DISTINCT FROM b.code OR a.description IS DISTINCT FROM b.description
   OR a.category IS DISTINCT FROM b.category OR a.unit IS DISTINCT FROM b.unit
   OR a.quantity IS DISTINCT FROM b.quantity OR a.unit_price IS DISTINCT FROM b.unit_price
   OR a.total_price IS DISTINCT FROM b.total_price
"""


def raw_diff_baseline(project_id: str) -> tuple[float, int]:
    """The same diff, by plain SQL over two plain tables each holding one version's rows."""
    import psycopg

    valid = "project_id = %s AND valid_from <= {n} AND (valid_to IS NULL OR valid_to > {n})"
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        for number in (1, 2):
            conn.execute(f"DROP TABLE IF EXISTS bench_v{number}")
            conn.execute(
                f"CREATE TABLE bench_v{number} AS SELECT * FROM projects_position WHERE "
                + valid.format(n=number),
                [project_id],
            )
            conn.execute(f"CREATE INDEX ON bench_v{number} (line_key)")
            conn.execute(f"ANALYZE bench_v{number}")
        conn.commit()
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            changed = conn.execute(RAW_DIFF).fetchall()
            best = min(best, time.perf_counter() - started)
        conn.execute("DROP TABLE bench_v1, bench_v2")
        conn.commit()
    return best, len(changed)
