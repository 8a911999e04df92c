"""Importing a budget file as a new version.

One transaction, so a file that fails (a bad row, the plan's quota, a cancel) leaves nothing
behind: under the project's row lock the file is read and its rows written, and any problem rolls
it all back. On PostgreSQL in one pass: the file is parsed in a process of its own while the rows
read so far are COPYed, so parsing and writing run at once, on two cores
(`import_process`, `import_rows.ReadAhead`); on the embedded database (or where the system cannot
fork) it is read into a spool first (a temporary file of compact batches) and written in a short
transaction.
Memory stays flat whatever the file's size. Rows are counted against the plan's quota to the end of
the file and any error of the file is reported, listing the problems, before anything commits.

Rows whose content is unchanged since the current version are kept as they are when they can
stay in place (versions share them; their source line is that of the file that first wrote them);
the others are written (COPY on PostgreSQL) and the rows they replace, or that the file no longer
has, are closed. A file identical to the current version makes no version at all ("no changes").

A tender (every unit price empty or zero) is stored unpriced: its prices and totals empty (its
rows are held back until a priced row shows the file is none). The result names the file's
declared totals and their reconciliation with the items, and says loudly when a whole object's or
the whole budget's total disagrees.
"""

import bisect
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import IO, Any, BinaryIO
from uuid import UUID

from django.contrib.auth.models import User
from django.db import connection, transaction

from core.errors import ApiError
from jobs.models import Job
from jobs.progress import NoProgress
from projects.bulk import (
    positions_analyze,
    positions_close,
    positions_keys_checked,
    positions_write,
)
from projects.importers import ImportFailed, ImportReport, read_rows, row_priced, unpriced_row
from projects.importers.base import MAX_LISTED
from projects.models import BudgetVersion, Position, Project
from projects.rows import ORDINAL_GAP
from projects.services.import_process import Read, batches_in_child, can_fork
from projects.services.import_rows import ReadAhead, Spool
from projects.services.projects import (
    project_archived_error,
    project_status_set,
    project_status_settle,
)
from projects.services.versions import project_lock, version_commit, version_open
from projects.sources import import_job_start
from tenants.models import ApiKey
from tenants.services import positions_quota_check

READ_BATCH = 2000  # rows handed from the reading to the writing at a time
# Rows per COPY: few enough that the server starts soon after the file does and ends soon after
# it (bench/README.md).
WRITE_BATCH = 4000
PLACEMENT_RUN = 5000
READ_SHARE = 80  # percent of the progress bar spent reading the file (in two passes)
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
    report = ImportReport()
    fields = {
        "trigger": trigger,
        "created_by": created_by,
        "actor": actor,
        "source_name": filename,
        "job": job,
    }

    def read(on_progress: Callable[[int, int], None], previous: Callable) -> Iterator[tuple]:
        return read_rows(
            stream, filename=filename, report=report, on_progress=on_progress, previous=previous
        )

    try:
        if connection.vendor == "postgresql" and can_fork():
            stream.tell()  # a stored file is fetched here, not in the process that reads it
            version, count = _import_one_pass(project, read, report, progress, **fields)
        else:
            version, count = _import_two_passes(project, read, report, progress, **fields)
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


# The rows to write, batch by batch (closed when the writing stops early), and the percent done
# after so many rows.
_Batches = tuple[Generator[list[tuple], None, None], Callable[[int], int]]


def _import_one_pass(
    project: Project, read: Read, report: ImportReport, progress: Any, **fields: Any
) -> tuple[BudgetVersion, int]:
    """PostgreSQL: the file is parsed in a forked process (`import_process`) while this thread
    writes the rows read so far, in the one transaction. In one process the parsing and the
    COPYs' Python would take turns with the GIL; in two they run at once. A thread of this
    process takes the batches from the child (`ReadAhead`)."""

    def batches(previous: Callable) -> _Batches:
        reader = ReadAhead(
            lambda on_progress: batches_in_child(
                read,
                carry=report,
                on_progress=on_progress,
                previous=reader.on_owner(previous),
                batch_size=READ_BATCH,
            )
        )
        return reader.batches(), lambda _written: 99 * reader.read[0] // max(reader.read[1], 1)

    progress.update(0, 100, step="reading and writing the version")
    return _write(project, batches, report, progress, **fields)


def _import_two_passes(
    project: Project, read: Read, report: ImportReport, progress: Any, **fields: Any
) -> tuple[BudgetVersion, int]:
    """The embedded database: the file is read into a spool first, then written in a short
    transaction (SQLite's write lock is database-wide). Also PostgreSQL where the system cannot
    fork."""
    limit = project.tenant.quotas.max_positions_per_project

    def on_progress(done: int, total: int) -> None:
        progress.update(READ_SHARE * done // max(total, 1), 100, step="reading the file")
        progress.check_cancelled()

    with closing(Spool()) as spool:
        count = 0
        batch: list[tuple] = []
        for row in read(on_progress, lambda: current_positions(project=project)):
            count += 1
            if count > limit:  # counted to the end, for the message, but never kept
                continue
            batch.append(row)
            if len(batch) >= READ_BATCH:
                spool.add(batch)
                batch = []
        if batch:
            spool.add(batch)
        positions_quota_check(tenant=project.tenant, count=count)
        progress.update(READ_SHARE, 100, step="writing the version")

        def batches(_previous: Callable) -> _Batches:
            return spool.batches(), lambda done: READ_SHARE + (100 - READ_SHARE) * done // count

        return _write(project, batches, report, progress, **fields)


def current_positions(*, project: Project) -> dict[str, dict[str, str]]:
    """The texts, unit and kind of the project's current positions by line key: what a GAEB
    X84 bid, which carries prices only, takes from the tender it answers."""
    fields = ("description", "unit", "kind", "long_text", "section")
    rows = Position.objects.filter(project=project, valid_to__isnull=True).values_list(
        "line_key", *fields
    )
    return {key: dict(zip(fields, values, strict=True)) for key, *values in rows.iterator(10_000)}


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
    batches: Callable[[Callable], _Batches],
    report: ImportReport,
    progress: Any,
    **version_fields: Any,
) -> tuple[BudgetVersion, int]:
    """Write the file's rows, as `batches(previous)` hands them over (with the percent done after
    so many rows), as the project's next version and commit it, in one transaction: any failure
    (the file's, the quota's, a cancel) rolls it all back. Returns the version and the file's
    count of positions. Raises _Unchanged, writing nothing, when they are the current version's."""
    with transaction.atomic():
        try:
            project = project_lock(project=project)
        except ApiError as exc:
            raise ImportFailed(exc.error_code, str(exc.detail)) from None
        positions_keys_checked(as_written=True)
        limit = project.tenant.quotas.max_positions_per_project
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
        count = written = 0
        waiting: list[tuple] = []  # rows for the next COPY: a few big ones cost less than many

        def add(batch: list[tuple]) -> None:
            nonlocal waiting, written
            waiting += batch if placement is None else _placed(batch, current, placement, to_close)
            if len(waiting) >= WRITE_BATCH:
                written += positions_write(project=project, valid_from=version.number, rows=waiting)
                waiting = []

        rows, percent = batches(lambda: current_positions(project=project))
        # Rows wait here until one shows a price: a tender's (none has one) are stored unpriced,
        # which only the end of the file tells.
        with closing(rows), closing(Spool()) as held:
            priced = False
            for batch in rows:
                count += len(batch)
                if count > limit:  # counted to the end, for the message, but never written
                    batch = batch[: max(0, len(batch) - (count - limit))]
                priced = priced or any(map(row_priced, batch))
                if not priced:
                    held.add(batch)
                else:
                    if held.count:
                        for earlier in held.batches():
                            add(earlier)
                    add(batch)
                # Between batches: progress is saved on the same connection.
                progress.update(percent(count), 100)
                progress.check_cancelled()
            positions_quota_check(tenant=project.tenant, count=count)
            for batch in held.batches():  # a tender, or a file of no rows
                add([unpriced_row(row) for row in batch] if report.unpriced else batch)
        if placement is not None:
            waiting += placement.finish()
        written += positions_write(project=project, valid_from=version.number, rows=waiting)
        positions_keys_checked(as_written=False)  # for what the caller's transaction does next
        progress.update(100, 100)
        to_close.extend(kept[0] for kept in current.values())
        current_version = project.current_version
        if placement is not None and current_version is not None and not written and not to_close:
            raise _Unchanged(current_version)
        positions_close(ids=to_close, valid_to=version.number)
        # Known once the file is read to its end.
        version.reconciliation = report.reconciliation
        version.declared_totals = report.declared_totals
        return version_commit(project=project, version=version), count


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
