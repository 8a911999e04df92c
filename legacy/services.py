"""Migrating a legacy installation (legacy/sources.py reads it) into a tenant, and proving it.

Each project is one transaction: the project (keeping its legacy id), version 1 with trigger
`legacy` (rows built the way an import builds them and written by the importer's bulk path), the
legacy audit results as findings, and its documents as evidence, each checked against its SHA-256.
A project that cannot be read or written is reported and skipped; the others proceed. A project
whose legacy id the tenant has already is skipped, so a stopped run resumes where it stopped and a
rerun adds nothing.
"""

import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audits.bulk import finding_row, findings_write
from core.errors import ApiError
from evidence.services import evidence_store
from jobs.models import Job
from jobs.progress import NoProgress
from jobs.services import job_create
from legacy import sources as legacy
from legacy.preparation import (
    PreparedProject,
    file_open_checked,
    migration_items,
    project_prepare,
    project_read,
    project_unreadable,
)
from legacy.sources import LegacyFile, LegacyProject, Rejection, Unreadable
from projects.bulk import (
    new_ids,
    positions_analyze,
    positions_write,
)
from projects.models import BudgetVersion, Project
from projects.services.versions import version_create_first
from tenants.models import Tenant
from tenants.services import tenant_create

ACTOR = "legacy migration"
# Threads migrating projects at once on PostgreSQL, each on its own connection.
WRITERS = 3
_NAME_LIMIT = Project._meta.get_field("name").max_length


@dataclass
class LegacyReport:
    """What a migration (or a dry run of one) did, and everything it could not bring in."""

    mode: str
    source: str
    tenant: str
    dry_run: bool = False
    migrated: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    writers: int = 1  # connections that wrote projects at once

    @property
    def ok(self) -> bool:
        return not self.rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "source": self.source,
            "tenant": self.tenant,
            "dry_run": self.dry_run,
            "writers": self.writers,
            "migrated": self.migrated,
            "skipped": self.skipped,
            "rejected": [rejection.as_dict() for rejection in self.rejected],
            "counts": {
                "migrated": len(self.migrated),
                "skipped": len(self.skipped),
                "rejected": len(self.rejected),
                "positions": sum(item["positions"] for item in self.migrated),
                "findings": sum(item["findings"] for item in self.migrated),
                "evidence": sum(item["evidence"] for item in self.migrated),
            },
        }


def legacy_import_start(
    *,
    tenant: Tenant,
    path: Path,
    mode: str,
    legacy_tenant: str = "",
    dry_run: bool = False,
    verify: bool = False,
    created_by: User | None = None,
    dispatch: bool = True,
) -> Job:
    """Start the import_legacy job that migrates (or dry-runs, or verifies) the legacy
    installation at `path` into `tenant`: the one way the command and the admin start it."""
    return job_create(
        tenant=tenant,
        kind="import_legacy",
        input={
            "path": str(path),
            "mode": mode,
            "legacy_tenant": legacy_tenant,
            "dry_run": dry_run,
            "verify": verify,
        },
        created_by=created_by,
        dispatch=dispatch,
    )


# Tenants ------------------------------------------------------------------------------------------
def legacy_tenants_sync(*, path: Path, dry_run: bool = False) -> tuple[list[dict], list[Rejection]]:
    """Create the export's tenants that are missing (found again by the slug their legacy id
    gives), with their plans mapped. Returns the tenants (each with `tenant`: ours, None in a dry
    run when it does not exist yet, and `created`) and the lines that could not be read."""
    tenants, rejections = legacy.jsonl_tenants(path)
    for entry in tenants:
        tenant = Tenant.objects.filter(slug=entry["slug"]).first()
        entry["created"] = tenant is None
        if tenant is None and not dry_run:
            try:
                tenant = tenant_create(slug=entry["slug"], name=entry["name"], plan=entry["plan"])
            except ApiError:  # created meanwhile by a concurrent run
                tenant = Tenant.objects.get(slug=entry["slug"])
                entry["created"] = False
        entry["tenant"] = tenant
        if entry["legacy_plan"] not in legacy.PLANS:
            rejections.append(
                Rejection(
                    "plan",
                    entry["legacy_id"],
                    f"unknown plan {entry['legacy_plan']!r}: the tenant got the {entry['plan']} "
                    "plan",
                    tenant=entry["legacy_id"],
                    file="tenants.jsonl",
                    line=entry["line"],
                )
            )
    return tenants, rejections


# Migrating ----------------------------------------------------------------------------------------
def legacy_migrate(
    *,
    tenant: Tenant | None,
    mode: str,
    path: Path,
    legacy_tenant: str = "",
    dry_run: bool = False,
    progress: Any = None,
    job: Job | None = None,
) -> LegacyReport:
    """Migrate the file store at `path` (mode "store") or legacy tenant `legacy_tenant` of the
    JSONL export at `path` (mode "jsonl") into `tenant`. A dry run writes nothing (and accepts no
    tenant: one that does not exist yet) but reads, checks and reports everything."""
    if mode not in legacy.MODES:
        raise ValueError(f"mode is one of {legacy.MODES}, not {mode!r}")
    if tenant is None and not dry_run:
        raise ValueError("only a dry run may go without a tenant")
    progress = progress or NoProgress()
    report = LegacyReport(
        mode=mode,
        source=str(path),
        tenant=tenant.slug if tenant is not None else legacy.tenant_slug(legacy_tenant),
        dry_run=dry_run,
    )
    items, early = migration_items(mode=mode, path=path, legacy_tenant=legacy_tenant)
    report.rejected.extend(early)
    progress.update(0, len(items), step="migrating projects")
    with _asynchronous_commit():
        written = _migrate_all(items, tenant, legacy_tenant, report, dry_run, progress, job)
    positions_analyze(rows_written=written)
    verb = "would migrate" if dry_run else "migrated"
    progress.log(
        f"{len(report.migrated)} project(s) {verb}, {len(report.skipped)} skipped (migrated "
        f"already), {len(report.rejected)} thing(s) rejected."
    )
    return report


@contextmanager
def _asynchronous_commit() -> Iterator[None]:
    """Commits that do not wait for their WAL flush (≈ 15 ms each on these machines): a crash
    can lose the last few projects' commits, never half a project, and a rerun migrates those
    again. PostgreSQL only; the session's setting is restored after."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _migrate_all(
    items: list[Any],
    tenant: Tenant | None,
    legacy_tenant: str,
    report: LegacyReport,
    dry_run: bool,
    progress: Any,
    job: Job | None,
) -> int:
    """Migrate each item in its own transaction, reporting in the items' order; returns how many
    rows were written."""

    def migrate(item: Any) -> "_Outcome":
        prepared = _load(item, tenant=tenant, legacy_tenant=legacy_tenant, done_ids=done_ids)
        if isinstance(prepared, str):
            return _Outcome(skipped=prepared)
        try:
            return _write(
                prepared, tenant=tenant, tenant_label=report.tenant, dry_run=dry_run, job=job
            )
        except IntegrityError:  # a concurrent run committed this project first
            return _Outcome(skipped=prepared.project.legacy_id)

    done_ids: set[str] = set()
    if tenant is not None:
        done_ids = set(
            Project.objects.for_tenant(tenant)
            .exclude(legacy_id="")
            .values_list("legacy_id", flat=True)
        )
    written = 0
    with _runner() as (run, writers):
        report.writers = writers
        outcomes = run(migrate, items)
        for done in range(1, len(items) + 1):
            progress.check_cancelled()  # before the next item starts, when they run here
            item, future = next(outcomes)
            try:
                outcome = future.result()
            except Unreadable as exc:
                report.rejected.append(project_unreadable(item, str(exc), legacy_tenant))
                continue
            finally:
                progress.update(done, len(items), step="migrating projects")
            if outcome.skipped:
                report.skipped.append({"id": outcome.skipped, "why": "migrated already"})
                continue
            written += outcome.entry["positions"]
            report.migrated.append(outcome.entry)
            report.rejected.extend(outcome.rejected)
    return written


@dataclass
class _Outcome:
    """One item migrated (its report entry and what of it was rejected) or skipped (its id)."""

    entry: dict[str, Any] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)
    skipped: str = ""


@contextmanager
def _runner() -> Iterator[Any]:
    """`run(work, items)`, which gives each item with the future of `work(item)` in the items'
    order, and how many threads run the work.

    On PostgreSQL, outside a caller's transaction, WRITERS threads run the work, each on its own
    connection: one project's parsing (Python) overlaps the others' writing (PostgreSQL), and
    every project is still its own transaction. Elsewhere (SQLite has one writer at a time; a
    caller's transaction is one connection's) the work runs here, one item after the other."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:

        def run_here(work: Any, items: Iterable[Any]) -> Iterator[tuple[Any, Future]]:
            for item in items:
                future: Future = Future()
                try:
                    future.set_result(work(item))
                except Exception as exc:  # noqa: BLE001 - handed to the caller, as a pool would
                    future.set_exception(exc)
                yield item, future

        yield run_here, 1
        return
    writers = _Writers(WRITERS)
    try:
        yield writers.run, WRITERS
    finally:
        writers.stop()


class _Writers:
    """Threads that each run work items on a connection of their own (asynchronous commits),
    closed when they stop."""

    def __init__(self, count: int) -> None:
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.pending: deque[tuple[Any, Future]] = deque()
        self.threads = [
            threading.Thread(target=self._serve, name=f"legacy-writer-{number}", daemon=True)
            for number in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def run(self, work: Any, items: Iterable[Any]) -> Iterator[tuple[Any, Future]]:
        for item in items:
            self.pending.append((item, self._submit(work, item)))
            if len(self.pending) >= 2 * len(self.threads):  # a bounded window, in order
                yield self.pending.popleft()
        while self.pending:
            yield self.pending.popleft()

    def stop(self) -> None:
        """Start nothing more (the run may have stopped early: cancelled, failed), let the work
        under way finish, and close the threads' connections."""
        for _, future in self.pending:
            future.cancel()
        for _ in self.threads:
            self.tasks.put(None)
        for thread in self.threads:
            thread.join()

    def _submit(self, work: Any, item: Any) -> Future:
        future: Future = Future()
        self.tasks.put((work, item, future))
        return future

    def _serve(self) -> None:
        try:
            with _asynchronous_commit():
                while (task := self.tasks.get()) is not None:
                    work, item, future = task
                    if not future.set_running_or_notify_cancel():
                        continue
                    try:
                        future.set_result(work(item))
                    except BaseException as exc:  # noqa: BLE001 - the caller's to handle
                        future.set_exception(exc)
        finally:
            connection.close()


def _load(
    item: Any, *, tenant: Tenant | None, legacy_tenant: str, done_ids: set[str]
) -> "PreparedProject | str":
    """The project read and prepared, or its legacy id when it was migrated already."""
    project = project_read(item)
    if project.legacy_id in done_ids:
        return project.legacy_id
    return project_prepare(project, tenant=tenant, legacy_tenant=legacy_tenant)


def _write(
    prepared: PreparedProject, *, tenant: Tenant | None, tenant_label: str, dry_run: bool, job: Any
) -> _Outcome:
    source = prepared.project
    entry: dict[str, Any] = {
        "id": source.legacy_id,
        "name": source.name[:_NAME_LIMIT],
        "positions": len(prepared.rows),
        "total_cost": str(prepared.total_cost),
        "findings": len(prepared.findings),
        "evidence": 0,
    }
    rejected = list(prepared.rejected)
    if dry_run:
        for file in source.files:
            upload, problem = file_open_checked(file, source, tenant_label)
            if upload is not None:
                upload.close()
                entry["evidence"] += 1
            else:
                rejected.append(problem)
        return _Outcome(entry=entry, rejected=rejected)
    assert tenant is not None  # only a dry run may be for a tenant that does not exist yet
    with transaction.atomic():
        project = Project.objects.create(
            tenant=tenant, name=source.name[:_NAME_LIMIT], legacy_id=source.legacy_id
        )
        version = version_create_first(
            project=project,
            totals=prepared.totals,
            created_at=source.created_at,
            trigger=BudgetVersion.Trigger.LEGACY,
            actor=ACTOR,
            source_name=source.source[:255],
            summary=_summary(source)[:500],
            job=job,
        )
        positions_write(project=project, valid_from=version.number, rows=prepared.rows)
        findings_write(rows=_finding_rows(prepared.findings, version=version))
        for file in source.files:
            problem = _store(file, source, tenant=tenant, project=project)
            if problem is None:
                entry["evidence"] += 1
            else:
                rejected.append(problem)
        entry["project"] = str(project.id)
    # Only once the project is committed: a rolled back project is reported as that alone.
    return _Outcome(entry=entry, rejected=rejected)


def _finding_rows(findings: list[tuple], *, version: BudgetVersion) -> Iterator[tuple]:
    """Prepared findings as rows for the bulk writer; the legacy results carry no fix, evidence
    or catalog."""
    now = timezone.now()
    for finding, finding_id in zip(findings, new_ids(len(findings)), strict=True):
        position_id, line_key, rule, role, recommendation, confidence, reasoning, line = finding
        yield finding_row(
            id=finding_id,
            version=version,
            position_id=position_id,
            line_key=line_key,
            rule=rule,
            role=role,
            recommendation=recommendation,
            confidence=confidence,
            reasoning=reasoning,
            source_line=line,
            created_at=now,
        )


def _summary(source: LegacyProject) -> str:
    details = ", ".join(
        f"{label} {value}"
        for label, value in (("status", source.status), ("workflow", source.workflow))
        if value
    )
    return f"Migrated from legacy project {source.legacy_id}" + (f" ({details})" if details else "")


def _store(
    file: LegacyFile, source: LegacyProject, *, tenant: Tenant, project: Project
) -> Rejection | None:
    """Store the file as the project's evidence: None, or the problem that kept it out."""
    upload, problem = file_open_checked(file, source, tenant.slug)
    if upload is None:
        return problem
    try:
        # Types are not checked: the old installation accepted these documents already.
        evidence_store(
            tenant=tenant, upload=upload, kind=file.kind, project=project, check_type=False
        )
    except ApiError as exc:  # a quota: reported, the project proceeds
        return Rejection(
            "evidence",
            upload.sha256,
            str(exc.detail),
            tenant=tenant.slug,
            file=f"{source.legacy_id}/{file.name}",
        )
    finally:
        upload.close()
    return None
