"""Importing a budget file as a new version.

Two phases, so a bad file never writes anything and the project is locked only briefly:
1. read: the file is parsed and validated row by row into a spool (a temporary file of compact
   batches: memory stays flat whatever the file's size), counting positions against the plan's
   quota. Any error fails the import here, listing the problems.
2. write: under the project's row lock, in one transaction, rows whose content is unchanged since
   the current version are kept as they are when they can stay in place (versions share them;
   their source line is that of the file that first wrote them); the others are written (COPY on
   PostgreSQL) and the rows they replace, or that the file no longer has, are closed. A file
   identical to the current version makes no version at all ("no changes").

A tender (every unit price empty or zero) is stored unpriced: its prices and totals empty. The
result names the file's declared totals and their reconciliation with the items, and says loudly
when a whole object's or the whole budget's total disagrees.
"""

import bisect
import marshal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from core.errors import ApiError
from jobs.models import Job
from jobs.progress import NoProgress
from projects.bulk import positions_analyze, positions_close, positions_write
from projects.importers import ImportFailed, ImportReport, read_rows, unpriced_row
from projects.importers.base import MAX_LISTED
from projects.models import BudgetVersion, Position, Project
from projects.rows import ORDINAL_GAP
from projects.services.projects import (
    project_archived_error,
    project_status_set,
    project_status_settle,
)
from projects.services.versions import project_lock, version_commit, version_open
from projects.sources import import_job_start
from tenants.models import ApiKey
from tenants.services import positions_quota_check

SPOOL_BATCH = 2000
WRITE_BATCH = 20_000  # rows per COPY
PLACEMENT_RUN = 5000
SPOOL_MEMORY = 8 * 1024 * 1024
READ_SHARE = 80  # percent of the progress bar spent reading the file
# Indexes into a row in projects.rows.ROW_FIELDS order.
_SOURCE_LINE, _LINE_KEY = 2, 3
_AUDIT_STATUS, _FINGERPRINT = -2, -1


@dataclass
class ImportOutcome:
    """The version an import made (or the current one, when the file changed nothing) and what
    the reading noticed on the way."""

    version: BudgetVersion
    report: ImportReport
    unchanged: bool = False

    @property
    def message(self) -> str:
        version, report = self.version, self.report
        if self.unchanged:
            text = (
                f"No changes: the file holds the same budget as version {version.number}; no "
                "version was made."
            )
        else:
            text = (
                f"Version {version.number}: {version.position_count} positions, total "
                f"{version.total_cost}; {version.added_count} added, {version.removed_count} "
                f"removed, {version.modified_count} modified."
            )
        if report.total_mismatches:
            text = (
                "WARNING: the imported total differs from the total the file declares — "
                + "; ".join(report.total_mismatches)
                + ". Check the reconciliation table. "
                + text
            )
        return text

    def as_result(self) -> dict[str, Any]:
        version = self.version
        changes = {"added": 0, "removed": 0, "modified": 0}
        if not self.unchanged:
            changes = {
                "added": version.added_count,
                "removed": version.removed_count,
                "modified": version.modified_count,
            }
        return {
            "version": version.number,
            "unchanged": self.unchanged,
            "message": self.message,
            "positions": version.position_count,
            "total_cost": str(version.total_cost),
            "changes": changes,
            "delta_cost": "0.00" if self.unchanged else str(version.delta_cost),
            "warnings": [p.as_dict() for p in self.report.warnings[:MAX_LISTED]],
            "warning_count": self.report.warning_count,
            "notes": self.report.notes,
            "reconciliation": self.report.reconciliation,
            "declared_totals": self.report.declared_totals,
            "total_mismatches": self.report.total_mismatches,
        }


class _Unchanged(Exception):
    """The file holds exactly the current version: the transaction is rolled back."""

    def __init__(self, version: BudgetVersion) -> None:
        super().__init__()
        self.version = version


def budget_import_start(
    *,
    project: Project,
    actor: str,
    file: IO[bytes] | None = None,
    filename: str = "",
    evidence_id: UUID | None = None,
    created_by: User | None = None,
    created_by_key: ApiKey | None = None,
    dispatch: bool = True,
) -> Job:
    """Start the import_budget job that makes `file` (or the document `evidence_id`) the next
    version of `project`: the one way the API, the admin and `manage.py import_budget` start it
    (`dispatch=False`: the caller runs it inline)."""
    if project.is_archived:
        raise project_archived_error()
    return import_job_start(
        tenant=project.tenant,
        kind="import_budget",
        input={"actor": actor},
        file=file,
        filename=filename,
        evidence_id=evidence_id,
        project=project,
        created_by=created_by,
        created_by_key=created_by_key,
        dispatch=dispatch,
    )


def budget_import(
    *,
    project: Project,
    stream: BinaryIO,
    filename: str,
    trigger: str = BudgetVersion.Trigger.IMPORT,
    created_by: User | None = None,
    actor: str = "",
    progress: Any = None,
    job: Job | None = None,
) -> ImportOutcome:
    """Import `stream` (a seekable binary file named `filename`: CSV, XLSX or UNIXML) as the
    project's next version, made by `job` if given. Raises ImportFailed, with the problems listed,
    when the file is unreadable, invalid, empty of positions or over the plan's quota: nothing is
    written then."""
    if trigger not in (BudgetVersion.Trigger.IMPORT, BudgetVersion.Trigger.LEGACY):
        raise ValueError(f"an import's trigger is import or legacy, not {trigger!r}")
    progress = progress or NoProgress()
    if not project_status_set(project=project, status=Project.Status.IMPORTING):
        raise ImportFailed("project_archived", "The project is archived: it cannot change.")
    try:
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
            report, count = _read(project, stream, filename, spool, progress)
            spool.seek(0)
            version = _write(
                project,
                spool,
                count,
                progress,
                unpriced=report.unpriced,
                trigger=trigger,
                created_by=created_by,
                actor=actor,
                source_name=filename,
                job=job,
                reconciliation=report.reconciliation,
                declared_totals=report.declared_totals,
            )
    except _Unchanged as exc:
        project_status_settle(project=project)
        outcome = ImportOutcome(version=exc.version, report=report, unchanged=True)
        progress.log(outcome.message)
        return outcome
    except BaseException:
        project_status_settle(project=project)
        raise
    # By the version's size, not by the rows written: a revision that rewrites a few thousand rows
    # of a big budget still moves valid_to on many, and a diff planned on stale statistics takes
    # seconds instead of a fraction of one (bench/imports.py).
    positions_analyze(rows_written=count)
    outcome = ImportOutcome(version=version, report=report)
    progress.log(outcome.message)
    return outcome


def _read(
    project: Project, stream: BinaryIO, filename: str, spool: IO[bytes], progress: Any
) -> tuple[ImportReport, int]:
    limit = project.tenant.quotas.max_positions_per_project
    report = ImportReport()

    def on_progress(done: int, total: int) -> None:
        progress.update(READ_SHARE * done // max(total, 1), 100, step="reading the file")
        progress.check_cancelled()

    count = 0
    batch: list[tuple] = []

    def previous() -> dict[str, dict[str, str]]:
        return current_positions(project=project)

    rows = read_rows(
        stream, filename=filename, report=report, on_progress=on_progress, previous=previous
    )
    for row in rows:
        count += 1
        if count > limit:  # counted to the end, for the message, but never kept
            continue
        batch.append(row)
        if len(batch) >= SPOOL_BATCH:
            _spool_batch(spool, batch)
            batch = []
    if batch:
        _spool_batch(spool, batch)
    positions_quota_check(tenant=project.tenant, count=count)
    return report, count


def current_positions(*, project: Project) -> dict[str, dict[str, str]]:
    """The texts, unit and kind of the project's current positions by line key: what a GAEB
    X84 bid, which carries prices only, takes from the tender it answers."""
    fields = ("description", "unit", "kind", "long_text", "section")
    rows = Position.objects.filter(project=project, valid_to__isnull=True).values_list(
        "line_key", *fields
    )
    return {key: dict(zip(fields, values, strict=True)) for key, *values in rows.iterator(10_000)}


def _spool_batch(spool: IO[bytes], batch: list[tuple]) -> None:
    # marshal is the fastest serialiser of plain tuples. Length-prefixed: marshal.load on a file
    # reads it in tiny pieces, loads on bytes does not.
    data = marshal.dumps(batch)
    spool.write(len(data).to_bytes(8, "little"))
    spool.write(data)


def _spooled_batches(spool: IO[bytes]) -> Iterator[list[tuple]]:
    while size := spool.read(8):
        data = spool.read(int.from_bytes(size, "little"))
        yield marshal.loads(data)  # noqa: S302 - our own spool, written just before


class _Placement:
    """Gives the new version's rows their ordinals (file order) while keeping as many unchanged
    rows of the current version as can stay where they are.

    Ordinals are spaced ORDINAL_GAP apart, so rows inserted between two kept rows fit between
    their ordinals. An unchanged row is kept when its ordinal comes after the last row placed with
    room for the new rows waiting before it; otherwise it is moved (rewritten). New rows wait in a
    bounded run until the next kept row tells their upper bound."""

    def __init__(self, current_ordinals: list[int]) -> None:
        self.bounds = sorted(current_ordinals)
        self.last = 0
        self.run: list[tuple] = []

    def keep(self, ordinal: int) -> list[tuple] | None:
        """The waiting rows, placed before a kept row at `ordinal`; None if it cannot be kept."""
        if ordinal - self.last <= len(self.run):
            return None
        placed = self._place(upper=ordinal)
        self.last = ordinal
        return placed

    def add(self, row: tuple) -> list[tuple]:
        """Queue a row to write; returns the rows placed meanwhile."""
        self.run.append(row)
        if len(self.run) < PLACEMENT_RUN:
            return []
        following = bisect.bisect_right(self.bounds, self.last)
        return self._place(upper=self.bounds[following] if following < len(self.bounds) else None)

    def finish(self) -> list[tuple]:
        return self._place(upper=None)

    def _place(self, upper: int | None) -> list[tuple]:
        run, self.run = self.run, []
        step = ORDINAL_GAP
        if upper is not None and upper - self.last > len(run):
            step = min(ORDINAL_GAP, (upper - self.last) // (len(run) + 1))
        placed = []
        for row in run:
            self.last += step
            placed.append((row[0], self.last, *row[_SOURCE_LINE:]))
        return placed


def _write(
    project: Project,
    spool: IO[bytes],
    count: int,
    progress: Any,
    *,
    unpriced: bool,
    **version_fields: Any,
) -> BudgetVersion:
    """Write the spooled rows as the project's next version and commit it (a tender's rows
    unpriced). Raises _Unchanged, writing nothing, when they are the current version's rows."""
    progress.update(READ_SHARE, 100, step="writing the version")
    with transaction.atomic():
        try:
            project = project_lock(project=project)
        except ApiError as exc:
            raise ImportFailed(exc.error_code, str(exc.detail)) from None
        # The current version's rows by line key: (id, fingerprint, ordinal, audit status).
        current = {
            key: (row_id, print_, ordinal, status)
            for row_id, key, print_, ordinal, status in Position.objects.filter(
                project=project, valid_to__isnull=True
            )
            .values_list("id", "line_key", "fingerprint", "ordinal", "audit_status")
            .iterator(chunk_size=10_000)
        }
        # A first version keeps the file's ordinals; later ones place their rows among the kept.
        placement = _Placement([kept[2] for kept in current.values()]) if current else None
        version = version_open(project=project, **version_fields)
        to_close: list[UUID] = []
        done = written = 0
        waiting: list[tuple] = []  # rows for the next COPY: a few big ones cost less than many
        for batch in _spooled_batches(spool):
            if unpriced:
                batch = [unpriced_row(row) for row in batch]
            fresh = batch if placement is None else _placed(batch, current, placement, to_close)
            waiting += fresh
            done += len(batch)
            if len(waiting) >= WRITE_BATCH:
                written += positions_write(project=project, valid_from=version.number, rows=waiting)
                waiting = []
                # Between COPYs: progress is saved on the same connection.
                progress.update(READ_SHARE + (100 - READ_SHARE) * done // count, 100)
                progress.check_cancelled()
        if placement is not None:
            waiting += placement.finish()
        written += positions_write(project=project, valid_from=version.number, rows=waiting)
        progress.update(100, 100)
        to_close.extend(kept[0] for kept in current.values())
        current_version = project.current_version
        if placement is not None and current_version is not None and not written and not to_close:
            raise _Unchanged(current_version)
        positions_close(ids=to_close, valid_to=version.number)
        return version_commit(project=project, version=version)


def _placed(
    batch: list[tuple], current: dict[str, tuple], placement: _Placement, to_close: list
) -> list[tuple]:
    """The rows of `batch` to write, placed; unchanged rows that stay are popped from `current`
    and not written, the current rows others replace go to `to_close`."""
    fresh = []
    for row in batch:
        kept = current.pop(row[_LINE_KEY], None)
        if kept is not None:
            if kept[1] == row[_FINGERPRINT]:
                placed = placement.keep(kept[2])
                if placed is not None:  # unchanged and in place: shared, not written
                    fresh += placed
                    continue
                row = (*row[:_AUDIT_STATUS], kept[3], row[_FINGERPRINT])  # moved only
            to_close.append(kept[0])
        fresh += placement.add(row)
    return fresh
