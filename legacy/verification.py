"""Proving a migration: the source compared with what the tenant holds."""

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from audits.models import Finding
from evidence.models import Evidence
from evidence.services import evidence_verify
from jobs.progress import NoProgress
from legacy.preparation import (
    PreparedProject,
    file_open_checked,
    migration_items,
    project_prepare,
    project_read,
    project_unreadable,
)
from legacy.sources import Unreadable
from projects.models import BudgetVersion, Position, Project
from projects.selectors import exact_total
from tenants.models import Tenant


def legacy_verify(
    *, tenant: Tenant, mode: str, path: Path, legacy_tenant: str = "", progress: Any = None
) -> dict[str, Any]:
    """Compare the source with what the tenant holds, project by project: positions, total cost,
    findings, and every document by SHA-256 (re-hashing the source and the stored object).
    What the source cannot give (an unreadable project, a corrupt or missing document) is listed
    as rejected, not as a difference."""
    progress = progress or NoProgress()
    items, early = migration_items(mode=mode, path=path, legacy_tenant=legacy_tenant)
    projects = {
        project.legacy_id: project
        for project in Project.objects.for_tenant(tenant).exclude(legacy_id="")
    }
    rows: list[dict[str, Any]] = []
    rejected = [rejection.as_dict() for rejection in early]
    for done, item in enumerate(items, start=1):
        progress.check_cancelled()
        progress.update(done - 1, len(items), step="verifying projects")
        try:
            prepared = project_prepare(project_read(item), tenant=None, legacy_tenant=legacy_tenant)
        except Unreadable as exc:
            rejected.append(project_unreadable(item, str(exc), legacy_tenant).as_dict())
            continue
        project = projects.get(prepared.project.legacy_id)
        rows.append(_compare(prepared, project, rejected, legacy_tenant=legacy_tenant))
    progress.update(len(items), len(items), step="verifying projects")
    differences = sum(len(row["differences"]) for row in rows)
    return {
        "mode": mode,
        "source": str(path),
        "tenant": tenant.slug,
        "ok": differences == 0,
        "projects": rows,
        "differences": differences,
        "rejected": rejected,
    }


def _compare(
    prepared: PreparedProject, project: Project | None, rejected: list[dict], *, legacy_tenant: str
) -> dict[str, Any]:
    source = prepared.project
    expected_files: dict[str, str] = {}
    for file in source.files:
        upload, problem = file_open_checked(file, source, legacy_tenant)
        if upload is None:
            rejected.append(problem.as_dict())
            continue
        expected_files[file.name] = upload.sha256
        upload.close()
    row: dict[str, Any] = {
        "id": source.legacy_id,
        "positions": [len(prepared.rows), None],
        "total_cost": [str(prepared.total_cost), None],
        "findings": [len(prepared.findings), None],
        "files": [len(expected_files), None],
        "differences": [],
    }
    if project is None:
        row["differences"].append("not migrated")
        return row
    current = Position.objects.filter(project=project, valid_to__isnull=True)
    totals = exact_total(current)
    row["positions"][1] = totals["count"]
    row["total_cost"][1] = str(totals["total_cost"])
    first = BudgetVersion.objects.filter(project=project, trigger=BudgetVersion.Trigger.LEGACY)
    row["findings"][1] = Finding.objects.filter(version__in=first).count()
    stored = _stored_files(project.tenant, set(expected_files.values()))
    row["files"][1] = sum(1 for sha256 in expected_files.values() if stored.get(sha256) == "ok")
    for name in ("positions", "total_cost", "findings"):
        if row[name][0] != row[name][1]:
            row["differences"].append(f"{name}: {row[name][0]} in the source, {row[name][1]} here")
    for name, sha256 in expected_files.items():
        if stored.get(sha256) != "ok":
            row["differences"].append(f"{name} ({sha256}): {stored.get(sha256, 'not stored')}")
    return row


def _stored_files(tenant: Tenant, hashes: Iterable[str]) -> dict[str, str]:
    """SHA-256 → "ok", or what is wrong with the stored object (missing, corrupt)."""
    result = {}
    for evidence in Evidence.objects.for_tenant(tenant).filter(sha256__in=list(hashes)):
        check = evidence_verify(evidence=evidence)
        result[evidence.sha256] = "ok" if check.ok else f"stored object {check.status}"
    return result
