"""Reads of projects, versions, positions, diffs and comments; every one requires the tenant."""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum
from django.db.models.functions import Round

from core.errors import ApiError, not_found
from projects.models import BudgetVersion, Comment, Position, Project
from projects.rows import CONTENT_FIELDS, SCALES, quantize
from tenants.models import Tenant

DIFF_KINDS = ("added", "removed", "modified")


# Projects -----------------------------------------------------------------------------------------
def project_list(
    *, tenant: Tenant, include_archived: bool = False, status: str | None = None
) -> QuerySet[Project]:
    projects = Project.objects.for_tenant(tenant).select_related("current_version")
    if not include_archived:
        projects = projects.exclude(status=Project.Status.ARCHIVED)
    if status:
        projects = projects.filter(status=status)
    return projects


def project_get(*, tenant: Tenant, project_id: Any) -> Project:
    project = (
        Project.objects.for_tenant(tenant)
        .select_related("current_version")
        .filter(pk=project_id)
        .first()
    )
    if project is None:
        raise not_found("Project")
    return project


# Versions -----------------------------------------------------------------------------------------
def version_list(*, tenant: Tenant, project: Project) -> QuerySet[BudgetVersion]:
    return (
        BudgetVersion.objects.for_tenant(tenant)
        .filter(project=project)
        .select_related("parent", "created_by")
    )


def version_get(*, tenant: Tenant, project: Project, number: int) -> BudgetVersion:
    version = version_list(tenant=tenant, project=project).filter(number=number).first()
    if version is None:
        raise not_found(f"Version {number}")
    return version


# Positions ----------------------------------------------------------------------------------------
def valid_in(number: int) -> Q:
    """Rows of version `number`."""
    return Q(valid_from__lte=number) & (Q(valid_to__isnull=True) | Q(valid_to__gt=number))


def position_list(
    *,
    tenant: Tenant,
    project: Project,
    version: int | None = None,
    status: str | None = None,
    code: str | None = None,
    section: str | None = None,
    search: str | None = None,
) -> QuerySet[Position]:
    """Positions of one version (the current one by default), in file order."""
    positions = Position.objects.for_tenant(tenant).filter(project=project)
    if version is None or (
        project.current_version is not None and version == project.current_version.number
    ):
        positions = positions.filter(valid_to__isnull=True)
    else:
        positions = positions.filter(valid_in(version))
    if status:
        positions = positions.filter(audit_status=status)
    if code:
        positions = positions.filter(code__startswith=code)
    if section:
        positions = positions.filter(section__startswith=section)
    if search:
        positions = positions.filter(
            Q(description__icontains=search) | Q(code__icontains=search) | Q(position_number=search)
        )
    return positions.order_by("ordinal")


def position_get(*, tenant: Tenant, project: Project, position_id: Any) -> Position:
    position = Position.objects.for_tenant(tenant).filter(project=project, pk=position_id).first()
    if position is None:
        raise not_found("Position")
    return position


def exact_total(positions: QuerySet[Position]) -> dict[str, Any]:
    """Count, total cost and audit status counts of `positions` in one query. The total is summed
    in whole cents: exact on PostgreSQL's numeric and on SQLite's floating point alike."""
    aggregates = positions.aggregate(
        count=Count("id"),
        cents=Sum(
            Round(F("total_price") * 100),
            output_field=DecimalField(max_digits=30, decimal_places=0),
        ),
        green=Count("id", filter=Q(audit_status=Position.AuditStatus.GREEN)),
        amber=Count("id", filter=Q(audit_status=Position.AuditStatus.AMBER)),
        red=Count("id", filter=Q(audit_status=Position.AuditStatus.RED)),
    )
    cents = aggregates.pop("cents") or Decimal(0)
    aggregates["total_cost"] = (Decimal(cents) / 100).quantize(Decimal("0.01"))
    return aggregates


# Diffs --------------------------------------------------------------------------------------------
@dataclass
class Diff:
    from_number: int
    to_number: int
    added_count: int = 0
    removed_count: int = 0
    modified_count: int = 0
    delta_cost: Decimal = Decimal("0.00")
    entries: dict[str, list[dict]] = field(default_factory=lambda: {k: [] for k in DIFF_KINDS})
    truncated: bool = False


_DIFF_COLUMNS = ("id", "line_key", "ordinal", *CONTENT_FIELDS)
# The diff's SQL, built once. Identifiers come from the model and values are bound parameters: no
# user text ever reaches these strings.
_TABLE = Position._meta.db_table
_COLUMNS = ", ".join(_DIFF_COLUMNS)
# A row is valid in [valid_from, valid_to). With lo < hi, the rows of lo that hi lacks are those
# closed in (lo, hi], and the rows of hi that lo lacks those opened in (lo, hi]: both read from an
# index, touching only what changed between the two versions.
_CLOSED = (
    f"SELECT {_COLUMNS} FROM {_TABLE} WHERE project_id = %s "  # noqa: S608
    "AND valid_to > %s AND valid_to <= %s AND valid_from <= %s"
)
_OPENED = (
    f"SELECT {_COLUMNS} FROM {_TABLE} WHERE project_id = %s "  # noqa: S608
    "AND valid_from > %s AND valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)"
)
_DIFFERS = " OR ".join(
    f"NOT (o.{f} = n.{f} OR (o.{f} IS NULL AND n.{f} IS NULL))" for f in CONTENT_FIELDS
)
# One full join pairs the two sides by line key. A full join can only be hashed or merged, never
# a nested loop, so the plan stays linear even when the statistics of a table just bulk-loaded
# are stale.
_JOINED = "old_rows o FULL OUTER JOIN new_rows n ON o.line_key = n.line_key"
_KINDS = {
    "added": "o.id IS NULL",
    "removed": "n.id IS NULL",
    "modified": f"o.id IS NOT NULL AND n.id IS NOT NULL AND ({_DIFFERS})",
}
_CENTS = "COALESCE(SUM(ROUND({side}.total_price * 100)), 0)"
_COUNTS_SQL = (
    "SELECT "  # noqa: S608
    + ", ".join(f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)" for condition in _KINDS.values())
    + f", {_CENTS.format(side='n')}, {_CENTS.format(side='o')} FROM {_JOINED}"
)
_ENTRIES_SQL = {
    kind: "SELECT "  # noqa: S608
    + ", ".join([*(f"o.{c}" for c in _DIFF_COLUMNS), *(f"n.{c}" for c in _DIFF_COLUMNS)])
    + f" FROM {_JOINED} WHERE {condition} ORDER BY COALESCE(n.ordinal, o.ordinal)"
    for kind, condition in _KINDS.items()
}


def _diff_query(project: Project, a: int, b: int, select: str) -> tuple[str, list]:
    """`select` over `old_rows` (rows of version a that b lacks) and `new_rows` (of b, a lacks)."""
    lo, hi = min(a, b), max(a, b)
    project_id = Project._meta.pk.get_db_prep_value(project.pk, connection)
    closed = (_CLOSED, [project_id, lo, hi, lo])
    opened = (_OPENED, [project_id, lo, hi, hi])
    (old_sql, old_params), (new_sql, new_params) = (closed, opened) if a <= b else (opened, closed)
    sql = f"WITH old_rows AS ({old_sql}), new_rows AS ({new_sql}) {select}"
    return sql, [*old_params, *new_params]


def version_diff_counts(*, project: Project, from_number: int, to_number: int) -> Diff:
    """Added, removed and modified counts and the delta cost, in one SQL query."""
    diff = Diff(from_number=from_number, to_number=to_number)
    if from_number == to_number:
        return diff
    with connection.cursor() as cursor:
        cursor.execute(*_diff_query(project, from_number, to_number, _COUNTS_SQL))
        added, removed, modified, new_cents, old_cents = cursor.fetchone()
    diff.added_count, diff.removed_count, diff.modified_count = (
        int(added or 0),
        int(removed or 0),
        int(modified or 0),
    )
    diff.delta_cost = ((Decimal(new_cents) - Decimal(old_cents)) / 100).quantize(Decimal("0.01"))
    return diff


def version_diff(
    *,
    tenant: Tenant,
    project: Project,
    from_number: int,
    to_number: int,
    kinds: tuple[str, ...] = DIFF_KINDS,
    limit: int | None = None,
) -> Diff:
    """The diff of two versions of `project`: counts, delta cost, and up to `limit` entries of each
    kind in `kinds` (all when None) — added and removed positions, and modified ones with their
    field-level changes — in file order."""
    for number in {from_number, to_number}:
        version_get(tenant=tenant, project=project, number=number)
    diff = version_diff_counts(project=project, from_number=from_number, to_number=to_number)
    if from_number == to_number:
        return diff
    counts = {
        "added": diff.added_count,
        "removed": diff.removed_count,
        "modified": diff.modified_count,
    }
    width = len(_DIFF_COLUMNS)
    with connection.cursor() as cursor:
        for kind in kinds:
            select = _ENTRIES_SQL[kind]
            if limit is not None:
                select += f" LIMIT {int(limit)}"
                diff.truncated = diff.truncated or counts[kind] > limit
            cursor.execute(*_diff_query(project, from_number, to_number, select))
            for row in cursor.fetchall():
                if kind == "modified":
                    before, after = _row_dict(row[:width]), _row_dict(row[width:])
                    diff.entries[kind].append(_modification(before, after))
                else:
                    diff.entries[kind].append(
                        _row_dict(row[width:] if kind == "added" else row[:width])
                    )
    return diff


@dataclass
class DiffPage:
    """One page of a diff's entries (all kinds together, in file order), with how many there are
    under the same filters."""

    entries: list[dict]
    total: int


_KIND_CASE = (
    "CASE WHEN o.id IS NULL THEN 'added' WHEN n.id IS NULL THEN 'removed' ELSE 'modified' END"
)
_PAGE_COLUMNS = ", ".join([*(f"o.{c}" for c in _DIFF_COLUMNS), *(f"n.{c}" for c in _DIFF_COLUMNS)])


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def version_diff_page(
    *,
    tenant: Tenant,
    project: Project,
    from_number: int,
    to_number: int,
    kinds: tuple[str, ...] = DIFF_KINDS,
    section: str = "",
    offset: int = 0,
    limit: int = 50,
) -> DiffPage:
    """A page of the diff's added, removed and modified positions (of `kinds`, in a section
    starting with `section`), in file order: `{"kind", "line_key", "position_number", "before",
    "after", "changes", "delta_cost"}` each. For staff pages; the API's diff is version_diff."""
    for number in {from_number, to_number}:
        version_get(tenant=tenant, project=project, number=number)
    if from_number == to_number or not kinds:
        return DiffPage(entries=[], total=0)
    where = "(" + " OR ".join(f"({_KINDS[kind]})" for kind in kinds) + ")"
    extra: list[Any] = []
    if section:
        where += " AND COALESCE(n.section, o.section) LIKE %s ESCAPE '\\'"
        extra.append(_like_prefix(section))
    count_sql, count_params = _diff_query(
        project,
        from_number,
        to_number,
        f"SELECT COUNT(*) FROM {_JOINED} WHERE {where}",  # noqa: S608 - our own fragments
    )
    page_sql, page_params = _diff_query(
        project,
        from_number,
        to_number,
        f"SELECT {_PAGE_COLUMNS}, {_KIND_CASE} FROM {_JOINED} WHERE {where} "  # noqa: S608
        "ORDER BY COALESCE(n.ordinal, o.ordinal) LIMIT %s OFFSET %s",
    )
    width = len(_DIFF_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(count_sql, [*count_params, *extra])
        total = int(cursor.fetchone()[0])
        cursor.execute(page_sql, [*page_params, *extra, int(limit), int(offset)])
        rows = cursor.fetchall()
    entries = []
    for row in rows:
        kind = row[-1]
        before = _row_dict(row[:width]) if kind != "added" else None
        after = _row_dict(row[width : 2 * width]) if kind != "removed" else None
        changes = _modification(before, after)["changes"] if before and after else {}
        old_total = (before or {}).get("total_price") or Decimal(0)
        new_total = (after or {}).get("total_price") or Decimal(0)
        shown = after or before or {}
        entries.append(
            {
                "kind": kind,
                "line_key": shown.get("line_key"),
                "position_number": shown.get("position_number"),
                "before": before,
                "after": after,
                "changes": changes,
                "delta_cost": new_total - old_total,
            }
        )
    return DiffPage(entries=entries, total=total)


def _row_dict(row: tuple) -> dict[str, Any]:
    """A raw row as the ORM would give it: SQLite hands back UUIDs as hex and numbers as floats."""
    values = dict(zip(_DIFF_COLUMNS, row, strict=True))
    if not isinstance(values["id"], UUID):
        values["id"] = UUID(str(values["id"]))
    for name in SCALES:
        value = values[name]
        if isinstance(value, float | int):
            values[name] = quantize(name, Decimal(str(value)))
    return values


def _modification(before: dict, after: dict) -> dict:
    changes = {
        name: {"from": before[name], "to": after[name]}
        for name in CONTENT_FIELDS
        if before[name] != after[name]
    }
    return {
        "line_key": after["line_key"],
        "position_number": after["position_number"],
        "from_id": before["id"],
        "to_id": after["id"],
        "changes": changes,
    }


# Comments -----------------------------------------------------------------------------------------
def comment_list(*, tenant: Tenant, project: Project) -> QuerySet[Comment]:
    return Comment.objects.for_tenant(tenant).filter(project=project).select_related("created_by")


def position_line_keys(*, project: Project, references: list[str]) -> list[str]:
    """Line keys of the positions named by id or line key; 400 naming any that is unknown."""
    ids, keys = [], []
    for reference in references:
        try:
            ids.append(UUID(str(reference)))
        except ValueError:
            keys.append(str(reference))
    rows = Position.objects.for_tenant(project.tenant).filter(project=project)
    by_id = dict(rows.filter(pk__in=ids).values_list("pk", "line_key")) if ids else {}
    known_keys = (
        set(rows.filter(line_key__in=keys).values_list("line_key", flat=True)) if keys else set()
    )
    unknown = [str(i) for i in ids if i not in by_id] + [k for k in keys if k not in known_keys]
    if unknown:
        raise ApiError(
            code="unknown_positions",
            message=f"No position of this project is {', '.join(map(repr, unknown))}.",
            details={"positions": unknown},
        )
    resolved = [by_id[i] for i in ids] + keys
    return list(dict.fromkeys(resolved))
