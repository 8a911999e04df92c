"""Exporting a version of a budget as XLSX, CSV or GAEB DA XML 3.3 (X83 tender, X84 bid), kept as
the project's evidence.

Each XLSX/CSV row carries the position's audit status and its findings in that version
("rule: reasoning", joined by " | "), loaded in one query for the whole version, and everything
the position says (its line key among it), so the file imports back losslessly
(projects.importers.kalkula). Text cells a spreadsheet would run as a formula are escaped
(projects.exporters.escape_text); numbers stay exact Decimals.
"""

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
from projects.exporters.gaeb import GaebRow, write_gaeb
from projects.exporters.xlsx_export import write_xlsx
from projects.models import BudgetVersion, Project
from tenants.models import ApiKey

TABULAR_FORMATS = {"xlsx": write_xlsx, "csv": write_csv}
# GAEB DA XML 3.3 by phase: an X83 tender (no prices) and an X84 bid (prices).
GAEB_FORMATS = {"gaeb-x83": "83", "gaeb-x84": "84"}
FORMATS = (*TABULAR_FORMATS, *GAEB_FORMATS)
SUFFIXES = {"gaeb-x83": "x83", "gaeb-x84": "x84"}
ROW_CHUNK = 2000
SPOOL_MEMORY = 8 * 1024 * 1024


@dataclass
class ExportOutcome:
    evidence: Evidence
    version: BudgetVersion
    format: str
    rows: int
    duplicate: bool
    notes: dict[str, Any] = field(default_factory=dict)

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
            "notes": self.notes,
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


def gaeb_rows(
    *, project: Project, version: BudgetVersion, progress: Any = None
) -> Iterator[GaebRow]:
    """The version's positions in file order as the GAEB writer takes them."""
    progress = progress or NoProgress()
    positions = selectors.position_list(
        tenant=project.tenant, project=project, version=version.number
    ).values_list(
        "section",
        "position_number",
        "description",
        "unit",
        "quantity",
        "unit_price",
        "total_price",
        "kind",
        "long_text",
    )
    for done, row in enumerate(positions.iterator(chunk_size=ROW_CHUNK), start=1):
        yield GaebRow(*row)
        if done % ROW_CHUNK == 0:
            progress.check_cancelled()


def budget_export(
    *,
    project: Project,
    format: str,
    version: int | None = None,
    created_by: User | None = None,
    progress: Any = None,
) -> ExportOutcome:
    """Write version `version` (the current one by default) of the project's budget as `format`
    (xlsx, csv, gaeb-x83 or gaeb-x84) and keep the file as the project's evidence of kind
    `export`."""
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
    suffix = SUFFIXES.get(format, format)
    name = f"{slugify(project.name) or 'budget'}-v{version_obj.number}.{suffix}"
    notes: dict[str, Any] = {}
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as out:
        if format in GAEB_FORMATS:
            written = write_gaeb(
                lambda: gaeb_rows(project=project, version=version_obj, progress=progress),
                out,
                phase=GAEB_FORMATS[format],
                project_name=project.name,
                currency=project.currency,
                bill_name=f"Kalkula v{version_obj.number}",
                contractor=project.tenant.name,
                day=version_obj.created_at.date(),
            )
            rows, notes = written.rows, written.notes
        else:
            rows = TABULAR_FORMATS[format](
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
        notes=notes,
    )
