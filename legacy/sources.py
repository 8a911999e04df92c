"""Reading an old file-based installation (README of the sample data describes both formats):

- the file store: `<projects>/<project-id>/project.json`, `positions.json`, `audit_results.json`
  and the uploaded documents under `raw/`;
- the multi-tenant JSONL export: `tenants.jsonl`, `projects.jsonl`, `positions.jsonl`,
  `evidence.jsonl` and the documents' bytes in `evidence/<sha256>`.

Both become `LegacyProject` records (positions as the importers parse them, so the rows are built
the way an import builds them) and `Rejection`s for what cannot be read. Nothing here writes.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from evidence.models import Evidence
from projects.importers.base import NotANumber, ParsedPosition, parse_decimal
from tenants.models import Plan

STORE = "store"
JSONL = "jsonl"
MODES = (STORE, JSONL)
# Legacy plan names → ours; an unknown plan becomes the free plan (and is reported).
PLANS = {
    "free": Plan.FREE,
    "basic": Plan.FREE,
    "starter": Plan.FREE,
    "team": Plan.TEAM,
    "pro": Plan.TEAM,
    "professional": Plan.TEAM,
    "business": Plan.TEAM,
    "enterprise": Plan.ENTERPRISE,
}
RECOMMENDATIONS = {"GREEN", "AMBER", "RED"}
_KINDS_BY_SUFFIX = {
    ".jpg": Evidence.Kind.PHOTO,
    ".jpeg": Evidence.Kind.PHOTO,
    ".png": Evidence.Kind.PHOTO,
    ".xlsx": Evidence.Kind.BUDGET,
    ".xls": Evidence.Kind.BUDGET,
    ".csv": Evidence.Kind.BUDGET,
    ".xml": Evidence.Kind.BUDGET,
}


@dataclass
class Rejection:
    """Something of the source that was not brought in, and why."""

    kind: str  # project, line, audit_result, evidence
    id: str
    why: str
    tenant: str = ""
    file: str = ""
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "id": self.id, "why": self.why}
        if self.tenant:
            data["tenant"] = self.tenant
        if self.file:
            data["file"] = self.file
        if self.line is not None:
            data["line"] = self.line
        return data


@dataclass
class LegacyFile:
    """A document of a legacy project; `sha256` and `size` when the source states them."""

    name: str
    path: Path
    kind: str
    sha256: str = ""
    size: int | None = None
    legacy_id: str = ""


@dataclass
class LegacyAudit:
    """One legacy expert's verdict on one position."""

    position_number: str
    role: str
    recommendation: str
    confidence: Decimal
    reasoning: str
    line: int


@dataclass
class LegacyProject:
    legacy_id: str
    name: str
    source: str  # where it was read, for messages and the version's source name
    status: str = ""
    workflow: str = ""
    created_at: datetime | None = None
    positions: list[ParsedPosition] = field(default_factory=list)
    audits: list[LegacyAudit] = field(default_factory=list)
    files: list[LegacyFile] = field(default_factory=list)


class Unreadable(Exception):
    """A legacy project that cannot be brought in at all."""


def tenant_slug(legacy_tenant_id: str) -> str:
    """The slug of the tenant a legacy tenant becomes: a rerun finds it by this."""
    return slugify(legacy_tenant_id)[:63]


# File store ---------------------------------------------------------------------------------------
def store_root(path: Path) -> Path:
    """The folder holding the project folders: `path` itself or its `data/projects`."""
    nested = path / "data" / "projects"
    return nested if nested.is_dir() else path


def store_project_dirs(path: Path) -> list[Path]:
    return sorted(child for child in store_root(path).iterdir() if child.is_dir())


def store_project_read(directory: Path) -> LegacyProject:
    """One project folder of the file store; Unreadable says why it cannot be migrated. A missing
    positions.json or audit_results.json is a project without positions or audit."""
    meta = _json_file(directory / "project.json", required=True)
    if not isinstance(meta, dict):
        raise Unreadable("project.json is not a JSON object")
    legacy_id = str(meta.get("id") or directory.name)
    positions = _json_file(directory / "positions.json") or []
    audits = _json_file(directory / "audit_results.json") or []
    if not isinstance(positions, list):
        raise Unreadable("positions.json is not a JSON list")
    if not isinstance(audits, list):
        raise Unreadable("audit_results.json is not a JSON list")
    project = LegacyProject(
        legacy_id=legacy_id,
        name=str(meta.get("name") or legacy_id),
        source=f"{directory.name}/positions.json",
        status=str(meta.get("status") or ""),
        workflow=str(meta.get("workflow") or ""),
        created_at=_datetime(meta.get("created_at")),
    )
    for line, item in enumerate(positions, start=1):
        project.positions.append(_position(item, line, "positions.json"))
    for line, item in enumerate(audits, start=1):
        project.audits.append(_audit(item, line))
    raw = directory / "raw"
    if raw.is_dir():
        for path in sorted(raw.iterdir()):
            if path.is_file():
                project.files.append(
                    LegacyFile(name=path.name, path=path, kind=_kind_of(path.name))
                )
    return project


def _json_file(path: Path, *, required: bool = False) -> Any:
    if not path.is_file():
        if required:
            raise Unreadable(f"{path.name} is missing")
        return None
    try:
        # Decimal, never float: 0.1 + 0.2 must stay 0.3 on the way in.
        return json.loads(path.read_bytes(), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise Unreadable(f"{path.name} is not valid JSON") from None


def _position(item: Any, line: int, file: str) -> ParsedPosition:
    if not isinstance(item, dict):
        raise Unreadable(f"{file}, item {line}: not a JSON object")
    try:
        return ParsedPosition(
            source_line=line,
            position_number=_text(item.get("position_number")),
            code=_text(item.get("code")),
            description=_text(item.get("description")),
            unit=_text(item.get("unit")),
            quantity=_number(item.get("quantity")),
            unit_price=_number(item.get("unit_price")),
            total_price=_number(item.get("total_price")),
        )
    except NotANumber as exc:
        raise Unreadable(f"{file}, item {line}: {exc} is not a number") from None


def _audit(item: Any, line: int) -> LegacyAudit:
    if not isinstance(item, dict):
        raise Unreadable(f"audit_results.json, item {line}: not a JSON object")
    try:
        confidence = _number(item.get("confidence"))
    except NotANumber as exc:
        raise Unreadable(f"audit_results.json, item {line}: {exc} is not a number") from None
    return LegacyAudit(
        position_number=_text(item.get("position_number")),
        role=_text(item.get("expert_role")) or "expert",
        recommendation=_text(item.get("recommendation")).upper(),
        confidence=confidence if confidence is not None else Decimal(0),
        reasoning=_text(item.get("reasoning")),
        line=line,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise NotANumber(str(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return parse_decimal(value, decimal_comma=False)
    raise NotANumber(repr(value))


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _kind_of(name: str) -> str:
    return _KINDS_BY_SUFFIX.get(Path(name).suffix.lower(), Evidence.Kind.OTHER)


# JSONL export -------------------------------------------------------------------------------------
def _jsonl(path: Path, rejections: list[Rejection]) -> Iterator[tuple[int, dict]]:
    """The objects of a JSONL file with their line numbers; a line that is not a JSON object is
    a rejection (its tenant unknown)."""
    if not path.is_file():
        rejections.append(Rejection("file", path.name, f"{path.name} is missing", file=path.name))
        return
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                item = None
            if not isinstance(item, dict):
                rejections.append(
                    Rejection(
                        "line",
                        f"{path.name}:{number}",
                        "not a valid JSON object",
                        file=path.name,
                        line=number,
                    )
                )
                continue
            yield number, item


def jsonl_tenants(path: Path) -> tuple[list[dict[str, Any]], list[Rejection]]:
    """The tenants of the export: legacy id, name, our plan, created_at."""
    rejections: list[Rejection] = []
    tenants = []
    for line, item in _jsonl(path / "tenants.jsonl", rejections):
        legacy_id = _text(item.get("tenant_id"))
        if not legacy_id or not tenant_slug(legacy_id):
            rejections.append(
                Rejection("line", f"tenants.jsonl:{line}", "no tenant_id", file="tenants.jsonl")
            )
            continue
        plan = _text(item.get("plan")).lower()
        tenants.append(
            {
                "legacy_id": legacy_id,
                "slug": tenant_slug(legacy_id),
                "name": _text(item.get("name")) or legacy_id,
                "plan": PLANS.get(plan, Plan.FREE),
                "legacy_plan": plan,
                "line": line,
            }
        )
    return tenants, rejections


def jsonl_projects(
    path: Path, *, legacy_tenant: str
) -> tuple[list[LegacyProject], list[Rejection]]:
    """One legacy tenant's projects with their positions and documents, in file order, and what
    could not be read (lines of any tenant that are not JSON at all are included: their tenant
    cannot be told)."""
    rejections: list[Rejection] = []
    projects: dict[str, LegacyProject] = {}
    for line, item in _jsonl(path / "projects.jsonl", rejections):
        if _text(item.get("tenant_id")) != legacy_tenant:
            continue
        legacy_id = _text(item.get("project_id"))
        if not legacy_id:
            rejections.append(_line("projects.jsonl", line, "no project_id", legacy_tenant))
            continue
        projects[legacy_id] = LegacyProject(
            legacy_id=legacy_id,
            name=_text(item.get("name")) or legacy_id,
            source="positions.jsonl",
            status=_text(item.get("status")),
            created_at=_datetime(item.get("created_at")),
        )
    for line, item in _jsonl(path / "positions.jsonl", rejections):
        if _text(item.get("tenant_id")) != legacy_tenant:
            continue
        project = projects.get(_text(item.get("project_id")))
        if project is None:
            rejections.append(
                _line(
                    "positions.jsonl", line, "its project is not in projects.jsonl", legacy_tenant
                )
            )
            continue
        try:
            project.positions.append(_position(item, line, "positions.jsonl"))
        except Unreadable as exc:
            rejections.append(_line("positions.jsonl", line, str(exc), legacy_tenant))
    for line, item in _jsonl(path / "evidence.jsonl", rejections):
        if _text(item.get("tenant_id")) != legacy_tenant:
            continue
        sha256 = _text(item.get("sha256")).lower()
        project = projects.get(_text(item.get("project_id")))
        if project is None or len(sha256) != 64:
            why = "its project is not in projects.jsonl" if project is None else "no sha256"
            rejections.append(_line("evidence.jsonl", line, why, legacy_tenant))
            continue
        kind = _text(item.get("evidence_kind")).lower()
        size = item.get("byte_length")
        project.files.append(
            LegacyFile(
                name=_text(item.get("original_filename")) or sha256,
                path=path / "evidence" / sha256,
                kind=kind if kind in Evidence.Kind.values else Evidence.Kind.OTHER,
                sha256=sha256,
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                legacy_id=_text(item.get("evidence_id")) or sha256,
            )
        )
    return list(projects.values()), rejections


def _line(file: str, line: int, why: str, tenant: str) -> Rejection:
    return Rejection("line", f"{file}:{line}", why, tenant=tenant, file=file, line=line)
