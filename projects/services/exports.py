"""Exporting a version of a budget as XLSX or CSV, kept as the project's evidence.

Each row carries the position's audit status and its findings in that version ("rule: reasoning",
joined by " | "), loaded in one query for the whole version, and everything the position says
(its line key among it), so the file imports back losslessly (projects.importers.kalkula). Text
cells a spreadsheet would run as a formula are escaped (projects.exporters.escape_text); numbers
stay exact Decimals.
"""

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.utils.text import slugify

from core.errors import ApiError
from evidence.models import Evidence
from evidence.services import evidence_store_file
from jobs.models import Job
from jobs.progress import NoProgress
from jobs.services import job_create
from projects import selectors
from projects.exporters import ExportRow
from projects.exporters.csv_export import write_csv
from projects.exporters.xlsx_export import write_xlsx
from projects.models import BudgetVersion, Project
from tenants.models import ApiKey

FORMATS = {"xlsx": write_xlsx, "csv": write_csv}
ROW_CHUNK = 2000
SPOOL_MEMORY = 8 * 1024 * 1024


@dataclass
class ExportOutcome:
    evidence: Evidence
    version: BudgetVersion
    format: str
    rows: int
    duplicate: bool

    def as_result(self) -> dict[str, Any]:
        return {
            "evidence": str(self.evidence.id),
            "filename": self.evidence.name,
            "sha256": self.evidence.sha256,
            "size": self.evidence.size,
            "format": self.format,
            "version": self.version.number,
            "rows": self.rows,
            "duplicate": self.duplicate,
        }


# The findings column: audits sits above projects, so it registers the function that gives a
# version's findings per line key (audits.apps); without it the column stays empty.
findings_by_line: list[Callable[[BudgetVersion], dict[str, str]]] = []


def _findings_text(version: BudgetVersion) -> dict[str, str]:
    return findings_by_line[0](version) if findings_by_line else {}


def export_rows(
    *, project: Project, version: BudgetVersion, progress: Any = None
) -> Iterator[ExportRow]:
    """The version's positions in file order as export rows."""
    progress = progress or NoProgress()
    findings = _findings_text(version)
    positions = selectors.position_list(
        tenant=project.tenant, project=project, version=version.number
    ).values_list(
        "line_key",
        "section",
        "position_number",
        "code",
        "description",
        "unit",
        "quantity",
        "unit_price",
        "total_price",
        "audit_status",
        "category",
        "kind",
        "price_system",
        "material_unit_price",
        "assembly_unit_price",
        "long_text",
        "takeoff",
    )
    total = version.position_count or 1
    for done, row in enumerate(positions.iterator(chunk_size=ROW_CHUNK), start=1):
        line_key, section, number, code, description, unit, quantity, unit_price, price = row[:9]
        status = row[9]
        category, kind, price_system, material, assembly, long_text, takeoff = row[10:]
        yield ExportRow(
            section=section,
            position_number=number,
            code=code,
            description=description,
            unit=unit,
            quantity=quantity,
            unit_price=unit_price,
            total_price=price,
            status=status,
            findings=findings.get(line_key, ""),
            category=category,
            kind=kind,
            price_system=price_system,
            material_unit_price=material,
            assembly_unit_price=assembly,
            long_text=long_text,
            takeoff=takeoff,
            line_key=line_key,
        )
        if done % ROW_CHUNK == 0:
            progress.update(90 * done // total, 100, step="writing the file")
            progress.check_cancelled()


def budget_export_start(
    *,
    project: Project,
    format: str,
    version: int | None = None,
    created_by: User | None = None,
    created_by_key: ApiKey | None = None,
    dispatch: bool = True,
) -> Job:
    """Start the export_budget job of `version` (the current one when None) of `project`: the one
    way the API, the admin and `manage.py export_budget` start it."""
    if format not in FORMATS:
        raise ApiError(code="invalid", message=f"format: one of {', '.join(sorted(FORMATS))}.")
    if version is not None:
        selectors.version_get(tenant=project.tenant, project=project, number=version)
    elif project.current_version_id is None:
        raise ApiError(
            code="no_versions",
            message="The project has no budget yet: import one before exporting.",
            status_code=409,
        )
    return job_create(
        tenant=project.tenant,
        kind="export_budget",
        input={"format": format, "version": version},
        project=project,
        created_by=created_by,
        created_by_key=created_by_key,
        dispatch=dispatch,
    )


def budget_export(
    *,
    project: Project,
    format: str,
    version: int | None = None,
    created_by: User | None = None,
    progress: Any = None,
) -> ExportOutcome:
    """Write version `version` (the current one by default) of the project's budget as `format`
    (xlsx or csv) and keep the file as the project's evidence of kind `export`."""
    progress = progress or NoProgress()
    if format not in FORMATS:
        raise ApiError(code="invalid", message=f"format: one of {sorted(FORMATS)}.")
    if version is None:
        if project.current_version is None:
            raise ApiError(
                code="no_versions",
                message="The project has no budget yet: import one before exporting.",
                status_code=409,
            )
        version = project.current_version.number
    version_obj = selectors.version_get(tenant=project.tenant, project=project, number=version)
    name = f"{slugify(project.name) or 'budget'}-v{version_obj.number}.{format}"
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as out:
        rows = FORMATS[format](
            export_rows(project=project, version=version_obj, progress=progress), out
        )
        progress.update(95, 100, step="storing the file")
        out.seek(0)
        stored = evidence_store_file(
            tenant=project.tenant,
            fileobj=out,
            name=name,
            kind=Evidence.Kind.EXPORT,
            project=project,
            uploaded_by=created_by,
        )
    progress.update(100, 100, step="done")
    progress.log(f"Exported version {version_obj.number} as {name}: {rows} positions.")
    return ExportOutcome(
        evidence=stored.evidence,
        version=version_obj,
        format=format,
        rows=rows,
        duplicate=stored.duplicate,
    )
